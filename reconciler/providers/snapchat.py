"""Snapchat Marketing API v1 (research/platform-apis.md section 4).

Bearer access tokens from the OAuth refresh grant, renewed before they expire
and once more when a call is answered 401. Writes wrap a plural key around a
list (`{"campaigns": [{...}]}`), and every item of the answer carries its own
`sub_request_status`. Updates PUT the full object with its `id` inside. Media
is made empty, then its file is uploaded; media and creatives cannot be
deleted, so they stay in the ad account's library.

The ad account is read once per run, for its currency (checked against a budget's) and its
`timezone`: flights were compiled as days in the Target's time zone, so every write to a target
whose ad account keeps another one is refused before anything is sent.

Many reads go through the ad account's lists (`/adaccounts/{id}/campaigns|adsquads|ads|
creatives|media`, `limit` 1000, `paging.next_link`): Snapchat's lists take no id filter,
so a refresh reads every object of the type in the account, one request per 1000.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from itertools import zip_longest
from pathlib import Path
from time import monotonic
from typing import Any
from urllib.parse import parse_qsl

import httpx

from reconciler.model import Operation, TargetConfig
from reconciler.providers.assets import read_asset
from reconciler.providers.base import Applied, ErrorClass, Listed, ProviderError, Review
from reconciler.providers.http import ErrorDetail, HttpClient, NotFound, default_error_parser
from reconciler.providers.vocabulary import as_recorded
from reconciler.resource_types import resource_type

DEFAULT_BASE_URL = "https://adsapi.snapchat.com/v1"
DEFAULT_AUTH_URL = "https://accounts.snapchat.com/login/oauth2/access_token"
DEFAULT_RATE_LIMIT = 10.0  # requests/s per access token (research 4.5)
RENEW_BEFORE_EXPIRY = 300.0  # seconds; at most half the token's lifetime
PAGE_SIZE = 1000  # the largest `limit` (research 4.2)
MAX_PAGES = 100
# Recorded ids a list leaves out are read one by one up to this many; past it, the list is read
# again with its deleted objects (read_deleted_entities), which costs a page per 1000.
MAX_SINGLE_READS = 10

# OAuth errors that mean the credentials themselves are refused (RFC 6749 section 5.2).
_OAUTH_AUTH_ERRORS = {"invalid_grant", "invalid_client", "unauthorized_client", "invalid_scope"}


@dataclass(frozen=True)
class OAuthCredentials:
    """The secrets of a Snapchat target; never shown in a repr."""

    refresh_token: str = field(repr=False)
    client_id: str
    client_secret: str = field(repr=False)
    access_token: str | None = field(default=None, repr=False)  # optional: used until it is refused


@dataclass(frozen=True)
class _Kind:
    """How one object type sits in /v1."""

    plural: str  # envelope list key and path segment
    singular: str  # envelope item key
    parent_plural: str  # path segment of the parent's collection
    parent_key: str  # the attribute holding the parent's id
    updatable: bool = True


_KINDS = {
    "campaign": _Kind("campaigns", "campaign", "adaccounts", "ad_account_id"),
    "adsquad": _Kind("adsquads", "adsquad", "campaigns", "campaign_id"),
    "ad": _Kind("ads", "ad", "adsquads", "ad_squad_id"),
    # Neither creatives nor media have a DELETE: see resource_types.
    "creative": _Kind("creatives", "creative", "adaccounts", "ad_account_id"),
    "media": _Kind("media", "media", "adaccounts", "ad_account_id", updatable=False),
}

_ACCOUNT = _Kind("adaccounts", "adaccount", "", "")  # read only, for its currency and time zone
# Names of UTC: an account reported in one of them is in the Target's "UTC" (or any other of them).
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Universal", "Universal", "Zulu", "Etc/Zulu"})

# Ours, never sent: the content hash the compiler tracks and the budget's currency,
# which is checked against the ad account's instead.
_NOT_SENT = {"asset_sha256", "currency"}
# Always part of a type's attributes, whatever was recorded.
_BASE_KEYS = {
    "campaign": ("ad_account_id", "name", "status"),
    "adsquad": ("campaign_id", "name", "status"),
    "media": ("ad_account_id", "name", "type"),
    "creative": ("ad_account_id", "name", "type", "top_snap_media_id"),
    "ad": ("ad_squad_id", "creative_id", "name", "status"),
}


class SnapchatProvider:
    """Provider for one Snapchat target (one ad account)."""

    platform = "snapchat"

    def __init__(
        self,
        target: TargetConfig,
        credentials: OAuthCredentials,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.target = target
        self._account_id = str(target.settings.get("ad_account_id") or "")
        self._client_id = credentials.client_id
        self._client_secret = credentials.client_secret
        self._refresh_token = credentials.refresh_token
        secrets = [credentials.refresh_token, credentials.client_secret, credentials.access_token or ""]
        self._http = HttpClient.for_target(
            target,
            default_base_url=DEFAULT_BASE_URL,
            default_rate_limit=DEFAULT_RATE_LIMIT,
            secrets=secrets,
            error_parser=_error_detail,
            body_check=_failed_items,
            transport=transport,
        )
        token_url = httpx.URL(str(target.auth_url or DEFAULT_AUTH_URL))
        self._token_path = token_url.path
        # Another host with its own limits: not paced with the API calls.
        self._oauth = HttpClient(
            str(token_url.copy_with(path="/", query=None, fragment=None)),
            rate_limit=None,
            secrets=secrets,
            error_parser=_oauth_error,
            transport=transport,
        )
        self._access_token: str | None = None
        self._renew_at = math.inf
        if credentials.access_token:
            self._use_token(credentials.access_token, None)
        self._renewing = asyncio.Lock()
        self._account: dict[str, Any] | None = None  # the ad account, read once: currency and time zone
        self._reading_account = asyncio.Lock()
        # next_link is followed only within the API: same scheme, host and port, under this path.
        self._api = httpx.URL(str(target.api_base_url or DEFAULT_BASE_URL))

    def __repr__(self) -> str:
        return f"SnapchatProvider(target={self.target.name!r})"

    async def create(self, op: Operation) -> Applied:
        kind = _kind(op.type)
        attrs = op.attributes
        if op.type == "media":
            obj = await self._create_media(op)
        else:
            await self._check_time_zone()
            await self._check_currency(op)
            data = await self._call("POST", _collection(kind, attrs), json={kind.plural: [_body(attrs)]})
            obj = _one(data, kind, f"create {op.type} {op.name!r}", write=True)
        return Applied(str(obj["id"]), _attributes(op.type, obj, attrs))

    async def update(self, op: Operation) -> dict[str, Any]:
        kind = _kind(op.type)
        if not kind.updatable:
            raise ProviderError(
                ErrorClass.VALIDATION, f"a Snapchat {op.type} cannot be changed in place; it must be replaced"
            )
        await self._check_time_zone()
        await self._check_currency(op)
        # PUT replaces the whole object (UNCONFIRMED whether it is full or partial): send all of ours.
        body = {kind.plural: [{"id": op.id, **_body(op.attributes)}]}
        data = await self._call("PUT", _collection(kind, op.attributes), json=body)
        return _attributes(op.type, _one(data, kind, f"update {op.type} {op.id}", write=True), op.attributes)

    async def delete(self, op: Operation) -> None:
        kind = _kind(op.type)
        if not resource_type("snapchat", op.type).deletable:
            # The executor never asks (it keeps or forgets the record itself); asked anyway, say so.
            raise ProviderError(ErrorClass.VALIDATION, f"Snapchat has no delete for {op.type}s")
        await self._check_time_zone()
        with contextlib.suppress(NotFound):  # already gone: the goal is met
            await self._call("DELETE", f"/{kind.plural}/{op.id}")

    async def read(self, type_: str, id_: str, attributes: dict[str, Any]) -> dict[str, Any] | None:
        kind = _kind(type_)
        try:
            data = await self._call("GET", f"/{kind.plural}/{id_}")
        except NotFound:
            return None
        obj = _one(data, kind, f"read {type_} {id_}", write=False)
        if obj.get("deleted") is True:
            return None
        return _attributes(type_, obj, attributes)

    async def review(self, type_: str, id_: str, attributes: dict[str, Any]) -> Review | None:
        if type_ != "ad":
            return None
        kind = _kind(type_)
        return _review(_one(await self._call("GET", f"/{kind.plural}/{id_}"), kind, f"review of ad {id_}", write=False))

    async def find(self, op: Operation) -> str | None:
        kind = _kind(op.type)
        attrs = op.attributes
        parent = str(attrs.get(kind.parent_key) or "")
        if not parent:
            return None
        rows = await self._list(kind, parent)
        matches = [
            (row.get("created_at") or "", position, str(row["id"]))
            for position, row in enumerate(rows)
            if "id" in row
            and row.get("name") == attrs.get("name")
            # Never trust the filter alone: a row naming another parent is not ours.
            and str(row.get(kind.parent_key, parent)) == parent
            and not row.get("deleted")
            and _same_content(op.type, row, attrs)
        ]
        return max(matches)[2] if matches else None

    async def read_many(self, type_: str, recorded: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
        if not recorded:
            return {}
        # No id filter on Snapchat's lists: this reads the whole account's objects of the type,
        # still one request per 1000 (and the fields are the platform's: it has no `fields` param).
        rows = {str(row["id"]): row for row in await self._account_rows(type_) if "id" in row}
        out: dict[str, dict[str, Any] | None] = {}
        for id_, attrs in recorded.items():
            row = rows.get(id_)
            if row is not None and row.get("deleted") is not True:
                out[id_] = _attributes(type_, row, attrs)
        # Not listed: deleted (lists leave them out), or in another account than the target's.
        missing = [id_ for id_ in recorded if id_ not in out]
        if len(missing) > MAX_SINGLE_READS:
            # Many deleted out of band: one more pass over the list with the deleted ones beats a GET each.
            deleted = await self._account_rows(type_, include_deleted=True)
            gone = {str(row.get("id")) for row in deleted if row.get("deleted") is True}
            out |= {id_: None for id_ in missing if id_ in gone}
            missing = [id_ for id_ in missing if id_ not in gone]
        # read() tells the rest, one request each: few.
        reads = await asyncio.gather(*(self.read(type_, id_, recorded[id_]) for id_ in missing))
        found = dict(zip(missing, reads, strict=True))
        return {id_: out[id_] if id_ in out else found[id_] for id_ in recorded}

    async def list_all(self, type_: str) -> list[Listed]:
        rows = await self._account_rows(type_)
        if type_ == "adsquad" and rows:
            # Budgets are in the ad account's currency, which squad rows do not carry: added for the
            # importer (a field of ours, like `currency` in the recorded attributes; never sent).
            currency = await self._account_currency()
            rows = [{**row, "currency": row.get("currency", currency)} for row in rows]
        return [Listed(type_, str(row["id"]), row) for row in rows if "id" in row and row.get("deleted") is not True]

    def attributes_of(self, type_: str, row: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
        return _attributes(type_, row, expected)

    async def download(self, url: str) -> bytes:
        return await self._http.download(url)

    async def review_many(self, type_: str, recorded: Mapping[str, dict[str, Any]]) -> dict[str, Review | None]:
        if type_ != "ad" or not recorded:
            return dict.fromkeys(recorded)
        rows = {str(row["id"]): row for row in await self._account_rows(type_) if "id" in row}
        out: dict[str, Review | None] = {
            id_: _review(rows[id_]) for id_ in recorded if id_ in rows and rows[id_].get("deleted") is not True
        }
        missing = [id_ for id_ in recorded if id_ not in out]
        reviews = await asyncio.gather(*(self._review_or_none(id_, recorded[id_]) for id_ in missing))
        found = dict(zip(missing, reviews, strict=True))
        return {id_: out[id_] if id_ in out else found[id_] for id_ in recorded}

    async def _review_or_none(self, id_: str, attributes: dict[str, Any]) -> Review | None:
        """review() of an ad the list left out: None when it is gone (no verdict to give)."""
        try:
            return await self.review("ad", id_, attributes)
        except NotFound:
            return None

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._oauth.aclose()

    # --- media ---

    async def _create_media(self, op: Operation) -> dict[str, Any]:
        """Make the media entity (or reuse one a failed attempt left empty), then upload its file."""
        content = await read_asset(op)  # before any request: a changed file sends nothing
        await self._check_time_zone()
        assert op.asset is not None
        kind, attrs = _KINDS["media"], op.attributes
        media = await self._empty_media(attrs)
        if media is None:
            data = await self._call("POST", _collection(kind, attrs), json={kind.plural: [_body(attrs)]})
            media = _one(data, kind, f"create media {op.name!r}", write=True)
        # The file is named by its hash: media carry no content hash, and find() must tell versions apart.
        file_name = op.asset.sha256 + Path(op.asset.path).suffix.lower()
        data = await self._call(
            "POST", f"/media/{media['id']}/upload", files={"file": (file_name, content, op.asset.media_type)}
        )
        result = data.get("result") if isinstance(data, dict) else None
        return {**media, **result} if isinstance(result, dict) else media

    async def _empty_media(self, attrs: dict[str, Any]) -> dict[str, Any] | None:
        """A PENDING_UPLOAD media of this name: an earlier attempt whose upload failed.

        Media cannot be deleted, so making a new one each attempt would leave empty ones behind.
        """
        for row in await self._list(_KINDS["media"], str(attrs["ad_account_id"])):
            if row.get("name") == attrs.get("name") and row.get("media_status") == "PENDING_UPLOAD":
                return row
        return None

    # --- requests ---

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API request with a fresh token; a 401 renews the token and retries once."""
        if self._access_token is None or monotonic() >= self._renew_at:
            await self._renew(self._access_token)
        token = self._access_token
        try:
            return await self._http.request(method, path, **kwargs)
        except ProviderError as exc:
            if exc.error_class is not ErrorClass.AUTH or exc.status != 401:
                raise
        await self._renew(token)
        return await self._http.request(method, path, **kwargs)

    async def _renew(self, stale: str | None) -> None:
        """Get a new access token with the refresh grant, unless another call already replaced `stale`."""
        async with self._renewing:
            if self._access_token != stale and monotonic() < self._renew_at:
                return
            form = {
                "grant_type": "refresh_token",
                "client_id": self._client_id,
                "client_secret": self._client_secret,
                "refresh_token": self._refresh_token,
            }
            try:
                # Asking again is harmless (it makes nothing): retried like a read.
                data = await self._oauth.request("POST", self._token_path, data=form, idempotent=True)
            except ProviderError as exc:
                raise ProviderError(  # named, and never of unknown outcome: it made nothing
                    exc.error_class,
                    f"cannot get a Snapchat access token: {exc.message}",
                    status=exc.status,
                    retry_after=exc.retry_after,
                ) from None
            token = data.get("access_token") if isinstance(data, dict) else None
            if not isinstance(token, str) or not token:
                raise ProviderError(ErrorClass.AUTH, "the Snapchat token endpoint answered without an access_token")
            rotated = data.get("refresh_token")
            if isinstance(rotated, str) and rotated and rotated != self._refresh_token:
                self._refresh_token = rotated
                self._http.redact.add(rotated)
                self._oauth.redact.add(rotated)
            expires_in = data.get("expires_in")
            self._use_token(token, float(expires_in) if isinstance(expires_in, int | float) else None)

    def _use_token(self, token: str, expires_in: float | None) -> None:
        self._access_token = token
        self._http.set_auth(headers={"Authorization": f"Bearer {token}"})
        self._oauth.redact.add(token)
        if expires_in is None:
            self._renew_at = math.inf  # unknown lifetime: used until refused
        else:
            self._renew_at = monotonic() + max(expires_in - RENEW_BEFORE_EXPIRY, expires_in / 2)

    async def _list(self, kind: _Kind, parent: str) -> list[dict[str, Any]]:
        """Every live object of a parent, page by page; none when the parent itself is gone."""
        try:
            return await self._pages(kind, f"/{kind.parent_plural}/{parent}/{kind.plural}")
        except NotFound:
            return []

    async def _account_rows(self, type_: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Every live object of a type in the target's ad account (and the deleted ones too, if asked), page by page."""
        kind = _kind(type_)
        return await self._pages(kind, f"/adaccounts/{self._account_id}/{kind.plural}", include_deleted)

    async def _pages(self, kind: _Kind, path: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        """The rows of a list, following paging.next_link; deleted ones only with `include_deleted`."""
        rows: list[dict[str, Any]] = []
        params: dict[str, str] = {"limit": str(PAGE_SIZE)}
        if include_deleted:
            params["read_deleted_entities"] = "true"
        for _ in range(MAX_PAGES):
            data = await self._call("GET", path, params=params)
            rows += _objects(data, kind, f"GET {path}")
            next_link = (data.get("paging") or {}).get("next_link") if isinstance(data, dict) else None
            if not next_link:
                return rows
            path, params = self._within_api(str(next_link))
        raise ProviderError(ErrorClass.NETWORK, f"GET {path}: more than {MAX_PAGES} pages, giving up")

    def _within_api(self, link: str) -> tuple[str, dict[str, str]]:
        """A next_link as (path under the API root, query), refused unless it stays on the API.

        The client adds the token header to what it sends: a link to another host or outside
        /v1 would carry it there.
        """
        url = httpx.URL(link)
        root = self._api.path.rstrip("/")
        same_origin = (url.scheme, url.host, url.port) == (self._api.scheme, self._api.host, self._api.port)
        if not same_origin or not url.path.startswith(root + "/") or ".." in url.path.split("/"):
            shown = str(url.copy_with(query=None))
            raise ProviderError(ErrorClass.NETWORK, f"refusing to follow a next_link outside the API: {shown}")
        return url.path[len(root) :], dict(parse_qsl(url.query.decode()))

    async def _ad_account(self) -> dict[str, Any]:
        """The target's ad account, read once (concurrent callers share the one read)."""
        async with self._reading_account:
            if self._account is None:
                data = await self._call("GET", f"/adaccounts/{self._account_id}")
                self._account = _one(data, _ACCOUNT, f"read ad account {self._account_id}", write=False)
        return self._account

    async def _account_currency(self) -> str:
        return str((await self._ad_account()).get("currency"))

    async def _check_time_zone(self) -> None:
        """Flights were compiled as days in the Target's time zone: refused unless it is the account's own.

        Checked before every write to the target, so that a mismatch sends nothing at all. A target
        recorded before time zones were declared (no setting) is not checked.
        """
        wanted = self.target.settings.get("timezone")
        if wanted is None:
            return
        actual = str((await self._ad_account()).get("timezone"))
        if actual == wanted or {actual, str(wanted)} <= _UTC_NAMES:
            return
        raise ProviderError(
            ErrorClass.VALIDATION,
            f"target {self.target.name} declares time zone {wanted}, but ad account {self._account_id} "
            f"keeps time zone {actual}: set the Target's timezone to {actual}, so that flights start and end "
            "on the account's own days",
        )

    async def _check_currency(self, op: Operation) -> None:
        """A budget in another currency than the ad account's is refused before anything is sent."""
        wanted = op.attributes.get("currency")
        if wanted is None:
            return
        currency = await self._account_currency()
        if wanted != currency:
            raise ProviderError(
                ErrorClass.VALIDATION,
                f"{op.type} {op.name!r} has a budget in {wanted}, but ad account {self._account_id} "
                f"is billed in {currency}: set the campaign's budget.currency to {currency}",
            )


def _kind(type_: str) -> _Kind:
    try:
        return _KINDS[type_]
    except KeyError:
        raise ProviderError(ErrorClass.VALIDATION, f"Snapchat has no resource type {type_!r}") from None


def _collection(kind: _Kind, attrs: dict[str, Any]) -> str:
    return f"/{kind.parent_plural}/{attrs[kind.parent_key]}/{kind.plural}"


def _body(attrs: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attrs.items() if k not in _NOT_SENT}


def _objects(data: Any, kind: _Kind, what: str) -> list[dict[str, Any]]:
    """The objects of a `{"campaigns": [{"sub_request_status": ..., "campaign": {...}}]}` answer."""
    items = data.get(kind.plural) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ProviderError(ErrorClass.NETWORK, f"unexpected response to {what}: no list of {kind.plural}")
    return [
        item[kind.singular]
        for item in items
        if isinstance(item, dict)
        and str(item.get("sub_request_status", "")).upper() == "SUCCESS"
        and isinstance(item.get(kind.singular), dict)
    ]


def _one(data: Any, kind: _Kind, what: str, *, write: bool) -> dict[str, Any]:
    """The single object of an answer; failed items were already raised by _failed_items."""
    objects = _objects(data, kind, what) if isinstance(data, dict) and kind.plural in data else []
    if not objects or "id" not in objects[0]:
        # The call went through, but we cannot tell what it made.
        raise ProviderError(
            ErrorClass.NETWORK, f"unexpected response to {what}: no {kind.singular} object", outcome_unknown=write
        )
    return objects[0]


def _review(obj: dict[str, Any]) -> Review:
    status = obj.get("review_status")
    if status == "REJECTED":
        return Review("rejected", "; ".join(str(r) for r in obj.get("review_status_reasons") or []))
    if status in ("PENDING", "PENDING_REVIEW"):
        return Review("pending")
    return Review("approved")


def _same_content(type_: str, row: dict[str, Any], attrs: dict[str, Any]) -> bool:
    """Whether a listed object holds what `attrs` would make.

    Creatives and media are never deleted, so old versions keep their names:
    a creative must match every attribute, and a media must be READY with the
    file we name by its hash.
    """
    if type_ == "creative":
        return _attributes(type_, row, attrs) == attrs
    if type_ == "media":
        file_name = str(row.get("file_name") or "")
        return row.get("media_status") == "READY" and file_name.startswith(str(attrs.get("asset_sha256")))
    return True


def _attributes(type_: str, obj: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return as_recorded(obj, expected, base_keys=_BASE_KEYS[type_], carried=_NOT_SENT, normalise=_normalise)


def _normalise(key: str, value: Any, expected: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, dict):
        if not isinstance(expected, dict):
            return value
        # Only the keys we manage: the platform may add defaults inside objects.
        return {k: _normalise(k, value[k], expected[k]) for k in expected if k in value}
    if isinstance(value, list):
        items = expected if isinstance(expected, list) else []
        return [_normalise(key, v, e) for v, e in zip_longest(value, items[: len(value)])]
    if key.endswith("_time") and _same_instant(value, expected):
        return expected  # the same moment, perhaps written another way
    if isinstance(expected, int) and not isinstance(expected, bool) and isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(expected, str) and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if key.endswith("_id") and not isinstance(value, str):
        return str(value)
    return value


def _same_instant(value: Any, expected: Any) -> bool:
    """Whether two ISO 8601 times name the same moment ("...00.000Z" and "...00Z" do)."""
    try:
        return datetime.fromisoformat(value) == datetime.fromisoformat(expected)
    except (TypeError, ValueError):
        return False


def _failed_items(body: Any) -> ErrorDetail | None:
    """A 2xx answer whose request or items failed (batch writes can partially fail)."""
    if not isinstance(body, dict):
        return None
    reasons = _item_errors(body)
    if reasons:
        return ErrorDetail("; ".join(reasons), ErrorClass.VALIDATION)
    if str(body.get("request_status", "")).upper() == "ERROR":
        return ErrorDetail(_message(body), ErrorClass.VALIDATION)
    return None


def _item_errors(body: dict[str, Any]) -> list[str]:
    return [
        str(item.get("sub_request_error_reason") or "item failed")
        for items in body.values()
        if isinstance(items, list)
        for item in items
        if isinstance(item, dict) and str(item.get("sub_request_status", "")).upper() == "ERROR"
    ]


def _message(body: dict[str, Any]) -> str:
    text = str(body.get("debug_message") or body.get("display_message") or "request failed")
    code = body.get("error_code")
    return f"{text} ({code})" if code else text


def _error_detail(response: httpx.Response) -> ErrorDetail:
    """`{"request_status": "ERROR", "debug_message", "error_code"}` or failed batch items (research 4.2)."""
    try:
        body = response.json()
    except ValueError:
        return default_error_parser(response)
    if not isinstance(body, dict):
        return default_error_parser(response)
    reasons = _item_errors(body)
    return ErrorDetail("; ".join(reasons) if reasons else _message(body))


def _oauth_error(response: httpx.Response) -> ErrorDetail:
    """`{"error": "invalid_grant", "error_description": ...}`: refused credentials are AUTH whatever the status."""
    try:
        body = response.json()
    except ValueError:
        return default_error_parser(response)
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return default_error_parser(response)
    error = body["error"]
    description = body.get("error_description")
    message = f"{error}: {description}" if description else error
    return ErrorDetail(message, ErrorClass.AUTH if error in _OAUTH_AUTH_ERRORS else None)
