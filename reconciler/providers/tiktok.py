"""TikTok API for Business, Marketing API v1.3 (research/platform-apis.md section 3).

Every answer is an envelope `{"code", "message", "request_id", "data"}`, an
error too, usually with HTTP 200: the HTTP client's body check turns a
non-zero code into a ProviderError. Status changes (`operation_status`, with
DELETE a soft delete) go through */status/update/, other fields through
*/update/. Images and videos live in the advertiser's asset library.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from reconciler.model import Operation, TargetConfig
from reconciler.providers.assets import read_asset
from reconciler.providers.base import Applied, ErrorClass, Listed, ProviderError, Review
from reconciler.providers.batch import read_each, review_each
from reconciler.providers.http import ErrorDetail, HttpClient, default_error_parser
from reconciler.providers.vocabulary import as_recorded

DEFAULT_BASE_URL = "https://business-api.tiktok.com/open_api/v1.3"
# TikTok's per-endpoint QPS limits are not documented (research 3.5): 10/s is a
# cautious guess, and a 40100 answer makes the executor back off.
DEFAULT_RATE_LIMIT = 10.0

OBJECT_TYPES = ("campaign", "adgroup", "ad")
MEDIA_TYPES = ("image", "video")
STATUS = "operation_status"
# What the error codes mean, from the official return-code table (TT-SDK tiktok_business/tiktok_code.py):
# 40100 REQUEST_TOO_FREQUENT and 40132 REQUEST_FREQUENCY_LIMITED are throttles; 40202 WRITE_CONFLICT is a
# concurrent write that was not carried out, retried like a throttle (wait, send again: nothing was made);
# 40001 PERMISSION_ERROR, 40102 ACCESS_TOKEN_EXPIRE, 40104 EMPTY_ACCESS_TOKEN and 40105
# INVALID_ACCESS_TOKEN are token or permission problems; 5xxxx are TikTok's own failures; 20001 PARTIAL_OK
# is an answer whose items are checked one by one; any other code refuses the request as sent.
RATE_LIMIT_CODES = frozenset({40100, 40132})
WRITE_CONFLICT_CODE = 40202
AUTH_CODES = frozenset({40001, 40102, 40104, 40105})
PARTIAL_OK_CODE = 20001
# An upload's file_name in the library: the creative's name and a hash of the content. TikTok refuses a
# second file of one name (40911 DUPLICATED_MATERIAL_NAME), and a replacement is uploaded while the old
# file still exists (create before destroy): new content, so a new name.
_UPLOAD_SUFFIX = re.compile(r"-[0-9a-f]{10}$")
# Time zone names TikTok and IANA use for UTC (UNCONFIRMED which one advertiser/info answers).
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/GMT+0", "Etc/GMT-0", "Etc/GMT0", "Etc/Universal"})
# Ids per GET /ad/review_info/ (UNCONFIRMED, as its path: modelled on smart_plus/ad/review_info/).
_REVIEW_IDS_PER_REQUEST = 100

# Our attributes that are never sent: the asset hash we track and the budget's
# currency, which is checked against the advertiser's instead.
_NOT_SENT = {"asset_sha256", "currency"}
# Fields of the ad body itself; the others go into its one creative.
_AD_LOCATORS = ("advertiser_id", "adgroup_id")
# Always part of a type's attributes, whatever was recorded.
_BASE_KEYS = {
    "campaign": ("advertiser_id", "campaign_name", "objective_type", "budget_mode", STATUS),
    "adgroup": ("advertiser_id", "campaign_id", "adgroup_name", "budget_mode", STATUS),
    "ad": ("advertiser_id", "adgroup_id", "ad_name", "ad_format", STATUS),
    "image": ("advertiser_id", "file_name"),
    "video": ("advertiser_id", "file_name"),
}
_NAME_KEYS = {
    "campaign": "campaign_name",
    "adgroup": "adgroup_name",
    "ad": "ad_name",
    "image": "file_name",
    "video": "file_name",
}
_PARENT_KEYS = {"adgroup": "campaign_id", "ad": "adgroup_id"}
_PAGE_SIZES = {"campaign": 1000, "adgroup": 1000, "ad": 1000, "image": 100, "video": 100}
# Ids per request: get/ filters take 1-100 ids (TT-SDK filtering_{campaign,adgroup,ad}_get.py); the library
# info endpoints take up to 100 image ids and 60 video ids (TT-SDK docs/FileApi.md).
_IDS_PER_REQUEST = {"campaign": 100, "adgroup": 100, "ad": 100, "image": 100, "video": 60}
# What `filtering.secondary_status` asks for to see deleted objects too (UNCONFIRMED beyond TT-GO's enum
# names; without it TikTok answers *_STATUS_NOT_DELETE, and the ids left out fall back to read()).
_ALL_STATUSES = {"campaign": "CAMPAIGN_STATUS_ALL", "adgroup": "ADGROUP_STATUS_ALL", "ad": "AD_STATUS_ALL"}
# Fields every paged read asks for besides the managed ones: the id, and the status that marks a deletion.
_READ_FIELDS = ("secondary_status",)


class TikTokProvider:
    """Provider for one TikTok target (one advertiser)."""

    platform = "tiktok"

    def __init__(self, target: TargetConfig, token: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.target = target
        self._http = HttpClient.for_target(
            target,
            default_base_url=DEFAULT_BASE_URL,
            default_rate_limit=DEFAULT_RATE_LIMIT,
            auth_headers={"Access-Token": token},
            error_parser=_error_detail,
            body_check=_envelope_error,
            transport=transport,
        )
        self._accounts: dict[str, dict[str, Any]] = {}  # advertiser id -> its advertiser/info/ row
        # Idempotency keys by (address, body). Kept for this provider's life only: retries
        # within one apply reuse a key, while a later apply that must create the object
        # again (deleted out of band) is not answered with the deleted one.
        self._request_ids: dict[tuple[str, str], str] = {}

    def __repr__(self) -> str:
        return f"TikTokProvider(target={self.target.name!r})"

    async def create(self, op: Operation) -> Applied:
        attrs = op.attributes
        _check_type(op.type)
        await self._check_account(attrs)
        if op.type in MEDIA_TYPES:
            return await self._upload(op)
        if op.type == "ad":
            body = {**_pick(attrs, _AD_LOCATORS), "creatives": [_creative(attrs, status=True)]}
            data = await self._call("POST", "/ad/create/", json=body)
            if not data.get("ad_ids"):
                _raise_partial(data, "TikTok made no ad")
            ad_id = _first(data.get("ad_ids"), "ad/create/")
            return Applied(ad_id, _attributes("ad", _first_dict(data.get("creatives")), attrs))
        body = _body(attrs)
        key = (op.address, json.dumps(body, sort_keys=True, default=str))
        # A 64-bit integer as a string (research 3.5); only campaign and ad group creates take one.
        body["request_id"] = self._request_ids.setdefault(key, str(secrets.randbelow(2**63 - 1) + 1))
        data = await self._call("POST", f"/{op.type}/create/", json=body)
        id_ = data.get(f"{op.type}_id")
        if not id_:
            _raise_partial(data, f"TikTok made no {op.type}")
            raise ProviderError(
                ErrorClass.NETWORK, f"unexpected response to {op.type}/create/: no {op.type}_id", outcome_unknown=True
            )
        return Applied(str(id_), _attributes(op.type, data, attrs))

    async def update(self, op: Operation) -> dict[str, Any]:
        _check_type(op.type)
        if op.type in MEDIA_TYPES:
            raise ProviderError(
                ErrorClass.VALIDATION, f"a TikTok {op.type} cannot be changed in place; it must be replaced"
            )
        attrs = op.attributes
        fields = op.changed_fields or tuple(attrs)
        # A field no longer in the spec is left as it is on the platform (no longer managed).
        changed = {f: attrs[f] for f in fields if f in attrs and f not in _NOT_SENT}
        status = changed.pop(STATUS, None)
        await self._check_account(attrs)
        live: dict[str, Any] = {}
        advertiser = self._advertiser(attrs)
        if op.type == "ad" and set(changed) - set(_AD_LOCATORS):
            # The whole creative, not only what changed: ad/update/ may reset fields left out.
            body = {**_pick(attrs, _AD_LOCATORS), "creatives": [{"ad_id": op.id, **_creative(attrs, status=False)}]}
            live = _first_dict((await self._call("POST", "/ad/update/", json=body)).get("creatives"))
        elif op.type != "ad" and changed:
            body = {**changed, "advertiser_id": advertiser, f"{op.type}_id": op.id}
            live = await self._call("POST", f"/{op.type}/update/", json=body)
        if status is not None:
            await self._set_status(op.type, advertiser, str(op.id), status)
            live = {**live, STATUS: status}
        return _attributes(op.type, live, attrs)

    async def delete(self, op: Operation) -> None:
        _check_type(op.type)
        await self._check_account(op.attributes)
        advertiser = self._advertiser(op.attributes)
        if op.type in MEDIA_TYPES:
            body = {"advertiser_id": advertiser, f"{op.type}_ids": [op.id]}
            data = await self._call("POST", "/creative/asset/delete/", json=body)
            failed = data.get(f"failed_{op.type}_ids") or []
            # A failure for an id that is gone already (deleted before) meets the goal.
            if op.id in failed and await self.read(op.type, str(op.id), op.attributes) is not None:
                raise ProviderError(ErrorClass.CONFLICT, f"TikTok did not delete {op.type} {op.id} from the library")
            return
        try:
            await self._set_status(op.type, advertiser, str(op.id), "DELETE")
        except ProviderError as exc:
            # Unknown ids are refused with a parameter error: fine if the object is gone.
            gone = (
                exc.error_class is ErrorClass.VALIDATION and await self.read(op.type, str(op.id), op.attributes) is None
            )
            if not gone:
                raise

    async def read(self, type_: str, id_: str, attributes: dict[str, Any]) -> dict[str, Any] | None:
        _check_type(type_)
        advertiser = self._advertiser(attributes)
        if type_ in MEDIA_TYPES:
            params = {"advertiser_id": advertiser, f"{type_}_ids": json.dumps([id_])}
            rows = _rows(await self._call("GET", f"/file/{type_}/ad/info/", params=params), f"{type_} info")
        else:
            rows = [row async for row in self._list(type_, advertiser, {f"{type_}_ids": [id_]})]
        row = next((r for r in rows if str(r.get(f"{type_}_id")) == id_), None)
        if row is None or _deleted(row):
            return None
        return _attributes(type_, row, attributes)

    async def review(self, type_: str, id_: str, attributes: dict[str, Any]) -> Review | None:
        if type_ != "ad":
            return None
        advertiser = self._advertiser(attributes)
        rows = [row async for row in self._list("ad", advertiser, {"ad_ids": [id_]})]
        row = next((r for r in rows if str(r.get("ad_id")) == id_), {})
        return _review(row, await self._reasons(advertiser, [id_] if _rejected(row) else []))

    async def find(self, op: Operation) -> str | None:
        attrs, type_ = op.attributes, op.type
        _check_type(type_)
        advertiser = self._advertiser(attrs)
        name_key = _NAME_KEYS[type_]
        if type_ in MEDIA_TYPES:
            signature = await _signature(op)
            rows = self._search(type_, advertiser)
        else:
            signature = None
            parent = _PARENT_KEYS.get(type_)
            filtering: dict[str, Any] = {f"{parent}s": [str(attrs[parent])]} if parent else {}
            if type_ != "ad":  # ad/get/ has no name filter
                filtering[name_key] = attrs[name_key]
            rows = self._list(type_, advertiser, filtering)
        owners = ["advertiser_id", *([_PARENT_KEYS[type_]] if type_ in _PARENT_KEYS else [])]
        matches = [
            row
            async for row in rows
            if _same_name(type_, row.get(name_key), attrs[name_key])
            # Never trust a filter alone: a row of another parent (or other content) is not ours.
            and all(str(row.get(key, attrs[key])) == str(attrs[key]) for key in owners)
            and (signature is None or row.get("signature") == signature)
            and not _deleted(row)
        ]
        if not matches:
            return None
        id_key = f"{type_}_id"
        newest = max(matches, key=lambda row: (str(row.get("create_time", "")), _id_order(row[id_key])))
        return str(newest[id_key])

    async def read_many(self, type_: str, recorded: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
        """read() of many objects, up to 100 ids a request (60 for videos), asking only for managed fields."""
        _check_type(type_)
        found: dict[str, dict[str, Any]] = {}
        for advertiser, ids in self._by_advertiser(recorded).items():
            fields = sorted(
                {f"{type_}_id", *_BASE_KEYS[type_], *_READ_FIELDS, *(k for id_ in ids for k in recorded[id_])}
                - _NOT_SENT
            )
            for chunk in _chunks(ids, _IDS_PER_REQUEST[type_]):
                for row in await self._rows_by_ids(type_, advertiser, chunk, fields):
                    found[str(row.get(f"{type_}_id"))] = row
        out: dict[str, dict[str, Any] | None] = {}
        missing = {}
        for id_, attrs in recorded.items():
            row = found.get(id_)
            if row is None:
                missing[id_] = attrs  # gone, or not where the filter looked: ask for it alone
            else:
                out[id_] = None if _deleted(row) else _attributes(type_, row, attrs)
        if missing:
            out |= await read_each(self, type_, missing)
        return {id_: out[id_] for id_ in recorded}

    async def list_all(self, type_: str) -> list[Listed]:
        """Every live object of a type in the target's advertiser; `advertiser` lists the advertiser itself
        (its name and currency, which an import needs for the Advertiser document and budgets)."""
        advertiser = self._advertiser({})
        if type_ == "advertiser":
            rows = _rows(
                await self._call("GET", "/advertiser/info/", params={"advertiser_ids": json.dumps([advertiser])}),
                "advertiser/info/",
            )
            return [Listed(type_, str(row["advertiser_id"]), row) for row in rows if row.get("advertiser_id")]
        _check_type(type_)
        # Media: UNCONFIRMED for images (research 3.2 lists only the video search; the image one is taken as
        # alike). Others: TikTok's default filter (*_STATUS_NOT_DELETE) leaves deleted ones out.
        rows_iter = self._search(type_, advertiser) if type_ in MEDIA_TYPES else self._list(type_, advertiser, {})
        id_key = f"{type_}_id"
        return [
            Listed(type_, str(row[id_key]), row)
            async for row in rows_iter
            if row.get(id_key) and not _deleted(row) and row.get(STATUS) != "DELETE"
        ]

    def attributes_of(self, type_: str, row: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
        return _attributes(type_, row, expected)

    async def download(self, url: str) -> bytes:
        return await self._http.download(url)

    async def review_many(self, type_: str, recorded: Mapping[str, dict[str, Any]]) -> dict[str, Review | None]:
        """Review verdicts of ads, 100 a request; other types are not reviewed (no request)."""
        if type_ != "ad":
            return {id_: None for id_ in recorded}
        found: dict[str, dict[str, Any]] = {}
        for advertiser, ids in self._by_advertiser(recorded).items():
            for chunk in _chunks(ids, _IDS_PER_REQUEST["ad"]):
                # Same filter as review(): live ads only; the rest are asked for alone below.
                rows = self._list("ad", advertiser, {"ad_ids": chunk})
                async for row in rows:
                    found[str(row.get("ad_id"))] = row
        rejected: dict[str, list[str]] = {}
        for id_, row in found.items():
            if id_ in recorded and _rejected(row):
                rejected.setdefault(self._advertiser(recorded[id_]), []).append(id_)
        reasons: dict[str, str] = {}
        for advertiser, ids in rejected.items():
            reasons |= await self._reasons(advertiser, ids)
        out: dict[str, Review | None] = {
            id_: _review(found[id_], reasons) for id_ in recorded if id_ in found
        }
        missing = {id_: attrs for id_, attrs in recorded.items() if id_ not in found}
        if missing:
            out |= await review_each(self, type_, missing)
        return {id_: out[id_] for id_ in recorded}

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- calls ---

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The `data` of a successful envelope (the body check has raised on any other).

        A partial success (20001) passes the body check: its data, marked with PARTIAL and the message,
        goes to the caller, which checks its own items (_raise_partial, _set_status).
        """
        body = await self._http.request(method, path, **kwargs)
        data = body.get("data") or {}
        if body.get("code") == PARTIAL_OK_CODE:
            message = f"{body.get('message') or 'partial success'} (code {PARTIAL_OK_CODE})"
            return {**data, PARTIAL: message} if isinstance(data, dict) else {PARTIAL: message}
        return data

    async def _pages(self, path: str, params: dict[str, Any], page_size: int) -> AsyncIterator[dict[str, Any]]:
        page = 1
        while True:
            data = await self._call("GET", path, params={**params, "page": page, "page_size": page_size})
            for row in _rows(data, path):
                yield row
            total_pages = (data.get("page_info") or {}).get("total_page") or 1
            if page >= total_pages:
                return
            page += 1

    def _list(
        self, type_: str, advertiser: str, filtering: dict[str, Any], fields: list[str] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        params = {"advertiser_id": advertiser, "filtering": json.dumps(filtering)}
        if fields:
            params["fields"] = json.dumps(fields)
        return self._pages(f"/{type_}/get/", params, _PAGE_SIZES[type_])

    async def _rows_by_ids(
        self, type_: str, advertiser: str, ids: list[str], fields: list[str]
    ) -> list[dict[str, Any]]:
        """The rows of these ids (at most _IDS_PER_REQUEST), deleted ones included where the API allows."""
        if type_ in MEDIA_TYPES:
            params = {"advertiser_id": advertiser, f"{type_}_ids": json.dumps(ids)}
            return _rows(await self._call("GET", f"/file/{type_}/ad/info/", params=params), f"{type_} info")
        filtering = {f"{type_}_ids": ids, "secondary_status": _ALL_STATUSES[type_]}
        return [row async for row in self._list(type_, advertiser, filtering, fields)]

    def _by_advertiser(self, recorded: Mapping[str, dict[str, Any]]) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for id_, attrs in recorded.items():
            groups.setdefault(self._advertiser(attrs), []).append(id_)
        return groups

    def _search(self, type_: str, advertiser: str) -> AsyncIterator[dict[str, Any]]:
        """Every file of the library: the search has no file name filter."""
        return self._pages(f"/file/{type_}/ad/search/", {"advertiser_id": advertiser}, _PAGE_SIZES[type_])

    async def _set_status(self, type_: str, advertiser: str, id_: str, status: str) -> None:
        body = {"advertiser_id": advertiser, f"{type_}_ids": [id_], STATUS: status}
        data = await self._call("POST", f"/{type_}/status/update/", json=body)
        # UNCONFIRMED how a partial answer lists what was done: here, the ids it names are the ones changed.
        if PARTIAL in data and id_ not in [str(i) for i in data.get(f"{type_}_ids") or []]:
            _raise_partial(data, f"TikTok did not set {type_} {id_} to {status}")

    async def _reasons(self, advertiser: str, ids: list[str]) -> dict[str, str]:
        """Why these rejected ads were refused, from GET /ad/review_info/ (path and shape UNCONFIRMED: modelled
        on the SDK's smart_plus/ad/review_info/; ad/get/ has no reason field). A failure leaves them empty."""
        reasons: dict[str, str] = {}
        for chunk in _chunks(ids, _REVIEW_IDS_PER_REQUEST):
            params = {"advertiser_id": advertiser, "ad_ids": json.dumps(chunk)}
            try:
                data = await self._call("GET", "/ad/review_info/", params=params)
            except ProviderError as exc:
                if exc.error_class is ErrorClass.AUTH or exc.transient:
                    raise
                continue  # no reasons here: the verdict (from secondary_status) stands
            answers = data.get("ad_review_map") if isinstance(data, dict) else None
            for id_, answer in (answers or {}).items():
                texts = [
                    str(reason)
                    for info in (answer or {}).get("reject_info") or []
                    for reason in (info or {}).get("reasons") or []
                ]
                if texts:
                    reasons[str(id_)] = "; ".join(texts)
        return reasons

    async def _upload(self, op: Operation) -> Applied:
        attrs = op.attributes
        content = await read_asset(op)
        media_type = op.asset.media_type if op.asset else "application/octet-stream"
        file_name = upload_name(str(attrs["file_name"]), content)
        form = {
            "advertiser_id": self._advertiser(attrs),
            "upload_type": "UPLOAD_BY_FILE",
            f"{op.type}_signature": hashlib.md5(content).hexdigest(),
            "file_name": file_name,
        }
        files = {f"{op.type}_file": (file_name, content, media_type)}
        data = await self._call("POST", f"/file/{op.type}/ad/upload/", data=form, files=files)
        # UNCONFIRMED which shape the API sends: a list of one (the sandbox's video upload) or an object.
        row = _first_dict(data) if isinstance(data, list) else data
        id_ = row.get(f"{op.type}_id")
        if not id_:
            raise ProviderError(
                ErrorClass.NETWORK, f"unexpected response to {op.type} upload: no {op.type}_id", outcome_unknown=True
            )
        return Applied(str(id_), _attributes(op.type, row, attrs))

    async def _check_account(self, attrs: dict[str, Any]) -> None:
        """Before any write: the advertiser keeps the target's time zone, and a budget in `currency` is in
        the advertiser's own currency (TikTok has no other). advertiser/info/ is read once per advertiser."""
        advertiser = self._advertiser(attrs)
        wanted_zone = self.target.settings.get("timezone")
        wanted_currency = attrs.get("currency")
        if wanted_zone is None and wanted_currency is None:
            return
        if advertiser not in self._accounts:
            # `fields` names what we read (UNCONFIRMED whether advertiser/info/ answers `timezone` without it).
            fields = ["advertiser_id", "name", "currency", "timezone"]
            params = {"advertiser_ids": json.dumps([advertiser]), "fields": json.dumps(fields)}
            rows = _rows(await self._call("GET", "/advertiser/info/", params=params), "advertiser/info/")
            row = next((r for r in rows if str(r.get("advertiser_id")) == advertiser), None)
            if row is None or not row.get("currency"):
                raise ProviderError(ErrorClass.AUTH, f"TikTok advertiser {advertiser} is not available to this token")
            self._accounts[advertiser] = row
        row = self._accounts[advertiser]
        zone = str(row.get("timezone") or "")
        if wanted_zone is not None and not _same_zone(str(wanted_zone), zone):
            raise ProviderError(
                ErrorClass.VALIDATION,
                f"target {self.target.name} declares timezone {wanted_zone} but TikTok advertiser {advertiser} "
                f"runs in {zone or 'an unknown time zone'}: flights would start and end at other hours; "
                f"set the target's timezone to {zone or 'the advertiser one'}",
            )
        currency = str(row["currency"])
        if wanted_currency is not None and currency != wanted_currency:
            raise ProviderError(
                ErrorClass.VALIDATION,
                f"the budget is in {wanted_currency} but TikTok advertiser {advertiser} (target {self.target.name}) "
                f"bills in {currency}: set the campaign's budget.currency to {currency}",
            )

    def _advertiser(self, attrs: dict[str, Any]) -> str:
        return str(attrs.get("advertiser_id") or self.target.settings.get("advertiser_id") or "")


def _check_type(type_: str) -> None:
    if type_ not in OBJECT_TYPES + MEDIA_TYPES:
        raise ProviderError(ErrorClass.VALIDATION, f"TikTok has no resource type {type_!r}")


def _pick(attrs: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: str(attrs[k]) for k in keys}


def _body(attrs: dict[str, Any]) -> dict[str, Any]:
    """The API fields of our attributes."""
    return {k: v for k, v in attrs.items() if k not in _NOT_SENT}


def _creative(attrs: dict[str, Any], *, status: bool) -> dict[str, Any]:
    """One entry of an ad's `creatives`: every field but the locators; the status only on create
    (ad/update/ refuses it: it goes through ad/status/update/)."""
    return {k: v for k, v in _body(attrs).items() if k not in _AD_LOCATORS and (status or k != STATUS)}


def _rows(data: Any, what: str) -> list[dict[str, Any]]:
    rows = data.get("list") if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise ProviderError(ErrorClass.NETWORK, f"unexpected response to {what}: no list")
    return [row for row in rows if isinstance(row, dict)]


def _first(values: Any, what: str) -> str:
    if not isinstance(values, list) or not values:
        raise ProviderError(ErrorClass.NETWORK, f"unexpected response to {what}: no id", outcome_unknown=True)
    return str(values[0])


def _first_dict(values: Any) -> dict[str, Any]:
    return values[0] if isinstance(values, list) and values and isinstance(values[0], dict) else {}


def _chunks(ids: list[str], size: int) -> list[list[str]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


# Marks the data of a partial success (20001) in what _call returns.
PARTIAL = "__partial__"
# secondary_status values (TT-SDK CreativeStatus enum) that hold an ad back: refused, or still in review.
_REJECTED = frozenset({"AD_STATUS_AUDIT_DENY", "AD_STATUS_ADGROUP_AUDIT_DENY", "AD_STATUS_ADVERTISER_AUDIT_DENY"})
_PENDING = frozenset({"AD_STATUS_AUDIT", "AD_STATUS_REAUDIT", "AD_STATUS_ADVERTISER_AUDIT"})


def _rejected(row: dict[str, Any]) -> bool:
    return row.get("secondary_status") in _REJECTED


def _review(row: dict[str, Any], reasons: Mapping[str, str] | None = None) -> Review:
    """An ad's verdict from its secondary status ({} for an ad not found: nothing to hold it back);
    a rejection's reason from ad/review_info/ (`reasons`, by ad id)."""
    status = row.get("secondary_status")
    if status in _REJECTED:
        return Review("rejected", (reasons or {}).get(str(row.get("ad_id")), ""))
    if status in _PENDING:
        return Review("pending")
    return Review("approved")


def _raise_partial(data: dict[str, Any], what: str) -> None:
    """A partial success (20001) whose item is not among the done ones: that item failed."""
    if PARTIAL in data:
        raise ProviderError(ErrorClass.VALIDATION, f"{what}: {data[PARTIAL]}")


def upload_name(file_name: str, content: bytes) -> str:
    """The library file name of an upload: unique per content (see _UPLOAD_SUFFIX)."""
    return f"{file_name}-{hashlib.sha256(content).hexdigest()[:10]}"


def declared_name(file_name: str, content: bytes) -> str:
    """The reverse of upload_name (what compile calls the upload), for a file of this content."""
    suffix = upload_name("", content)
    return file_name[: -len(suffix)] if file_name.endswith(suffix) and len(file_name) > len(suffix) else file_name


def _same_name(type_: str, live: Any, declared: Any) -> bool:
    """A library file's name is ours with or without the content suffix (an upload from before it)."""
    if live == declared:
        return True
    return type_ in MEDIA_TYPES and isinstance(live, str) and _UPLOAD_SUFFIX.sub("", live) == declared


def _same_zone(wanted: str, live: str) -> bool:
    return wanted == live or (wanted in _UTC_NAMES and live in _UTC_NAMES)


def _deleted(row: dict[str, Any]) -> bool:
    """Deleted objects stay readable, marked by their secondary status (e.g. CAMPAIGN_STATUS_DELETE)."""
    return str(row.get("secondary_status", "")).endswith("_DELETE")


async def _signature(op: Operation) -> str | None:
    """The MD5 TikTok reports for the file, when the asset is still the planned one: finds then
    also tell apart a file of the same name with other content (the old one of a replace)."""
    try:
        return hashlib.md5(await read_asset(op)).hexdigest()
    except ProviderError:
        return None


def _attributes(type_: str, obj: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    name = obj.get("file_name")
    if type_ in MEDIA_TYPES and _same_name(type_, name, expected.get("file_name")):
        obj = {**obj, "file_name": expected["file_name"]}  # the suffix is ours, not a change
    return as_recorded(
        obj, expected, base_keys=_BASE_KEYS[type_], carried=_NOT_SENT, normalise=lambda _, v, e: _normalise(v, e)
    )


def _normalise(value: Any, expected: Any) -> Any:
    if value is None or expected is None or isinstance(value, bool):
        return value
    if isinstance(expected, str) and isinstance(value, int | float):
        return str(value)  # ids
    if isinstance(expected, float) and isinstance(value, int | float | str):
        try:
            return float(value)  # budgets may come back as "50.00"
        except ValueError:
            return value
    return value


def _id_order(id_: Any) -> tuple[int, int | str]:
    text = str(id_)
    return (1, int(text)) if text.isdigit() else (0, text)


def _is_envelope(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("code"), int)


def _code_detail(body: dict[str, Any]) -> ErrorDetail:
    """The error of an envelope whose code is not 0."""
    code = body["code"]
    if code in RATE_LIMIT_CODES or code == WRITE_CONFLICT_CODE:
        error_class = ErrorClass.RATE_LIMIT  # no Retry-After: the executor's backoff decides
    elif code in AUTH_CODES:
        error_class = ErrorClass.AUTH
    elif code >= 50000:
        error_class = ErrorClass.NETWORK
    else:
        error_class = ErrorClass.VALIDATION
    log_id = f", request_id {body['request_id']}" if body.get("request_id") else ""
    return ErrorDetail(f"{body.get('message') or 'error'} (code {code}{log_id})", error_class)


def _envelope_error(body: Any) -> ErrorDetail | None:
    """The body check of a 2xx answer: None for code 0."""
    if not _is_envelope(body):
        # Done, perhaps, but we cannot tell what was made.
        return ErrorDetail("the answer is not a TikTok envelope", ErrorClass.NETWORK)
    return None if body["code"] in (0, PARTIAL_OK_CODE) else _code_detail(body)


def _error_detail(response: httpx.Response) -> ErrorDetail:
    """A non-2xx answer: its envelope's code when it has one, else the HTTP status decides."""
    try:
        body = response.json()
    except ValueError:
        return default_error_parser(response)
    return _code_detail(body) if _is_envelope(body) and body["code"] != 0 else default_error_parser(response)
