"""Meta Marketing API through the Graph API v26.0 (research/platform-apis.md section 2).

Objects are created on the ad account's edges (`POST /act_{id}/campaigns`),
then read, changed and deleted by id (`GET`/`POST`/`DELETE /{id}`). Images are
the exception: they are addressed by the hash of their bytes, which is their
platform id here, and listed or deleted through `/act_{id}/adimages`. The token
travels as the `access_token` query parameter. Every error is a 400 whose
`error.code` says what happened, so classification reads the body.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

import httpx

from reconciler.model import Operation, TargetConfig
from reconciler.providers.assets import read_asset
from reconciler.providers.base import Applied, ErrorClass, Listed, ProviderError, Review
from reconciler.providers.batch import read_each, review_each
from reconciler.providers.http import ErrorDetail, HttpClient, NotFound, default_error_parser
from reconciler.providers.vocabulary import as_recorded

# v26.0: the version of FB-SDK 26.0.3, whose fields and enums the compiler and the emulator are checked against
# (tests/test_meta_fidelity.py). v25.0 is still live, but each Graph version lives about two years from its
# release, so the newer one leaves the longer runway; nothing here uses a field that differs between the two.
DEFAULT_BASE_URL = "https://graph.facebook.com/v26.0"
# Meta publishes no per-second cap: Business Use Case quotas are counted per hour by
# access tier, plus real-time limits on bursts of mutations (research 2.7). 20 requests
# a second keeps an apply of a few hundred objects under a minute without bursting;
# when Meta throttles anyway (codes 17, 80004, ...), the executor waits as told.
DEFAULT_RATE_LIMIT = 20.0
# Rows asked for per page. Graph publishes no maximum for the ads edges: "some edges may also
# have a maximum on the limit value for performance reasons. In all cases, the API returns the
# correct pagination links" (graph-api/results), so a capped page only means one more request.
PAGE_SIZE = 100
# Ids per `filtering` [{"field": "id", "operator": "IN", ...}] on an edge read: one page's worth, so a
# chunk is one request. Filtering is "generally supported by all Facebook edge APIs" (a maintainer in
# facebook-php-business-sdk#246); a cap on the number of values is not published (UNCONFIRMED).
IDS_PER_FILTER = PAGE_SIZE

# The account edge each type is created and listed on.
_EDGES = {
    "campaign": "campaigns",
    "adset": "adsets",
    "adcreative": "adcreatives",
    "ad": "ads",
    "adimage": "adimages",
    "advideo": "advideos",
}
# The attribute naming an object's parent (besides the ad account), which find must match.
_PARENTS = {"adset": "campaign_id", "ad": "adset_id"}
# Ours, never sent: the account is in the path, the hash and currency are the compiler's.
_NOT_SENT = frozenset({"account_id", "asset_sha256", "currency"})
# Never read back: carried over from what was applied or recorded. Params that are
# write-only on Graph; on a video the account (Graph shows none); on an image the
# name (identical bytes are one image, which keeps the first name: UNCONFIRMED).
_CARRIED = frozenset({"asset_sha256", "currency", "execution_options"})
_CARRIED_BY_TYPE = {"advideo": frozenset({"account_id"}), "adimage": frozenset({"name"})}
# Always part of a type's attributes, whatever was recorded.
_BASE_KEYS = {
    "campaign": ("account_id", "name", "objective", "status"),
    "adset": ("account_id", "name", "campaign_id", "status"),
    "adcreative": ("account_id", "name"),
    "ad": ("account_id", "name", "adset_id", "status", "creative"),
    "adimage": ("account_id", "name"),
    "advideo": ("account_id", "name"),
}
# What list_all asks each edge for: every field import maps, and those attributes_of reads.
_LIST_FIELDS = {
    "campaign": (
        "id", "account_id", "name", "objective", "status", "effective_status", "buying_type",
        "is_adset_budget_sharing_enabled",
        "special_ad_categories", "daily_budget", "lifetime_budget", "spend_cap", "bid_strategy", "start_time",
        "stop_time", "created_time",
    ),
    "adset": (
        "id", "account_id", "name", "campaign_id", "status", "effective_status", "billing_event",
        "optimization_goal", "bid_amount", "bid_strategy", "daily_budget", "lifetime_budget", "start_time",
        "end_time", "targeting", "promoted_object", "destination_type", "created_time",
    ),
    "adcreative": ("id", "account_id", "name", "status", "object_story_spec"),
    "ad": (
        "id", "account_id", "name", "adset_id", "campaign_id", "status", "effective_status", "creative",
        "created_time",
    ),
    "adimage": ("id", "account_id", "hash", "name", "status", "url", "width", "height", "created_time"),
    "advideo": ("id", "title", "source", "picture", "created_time"),
}  # fmt: skip
_ACCOUNT_FIELDS = ("id", "account_id", "name", "currency", "timezone_name")
_REVIEW_FIELDS = "effective_status,ad_review_feedback,issues_info"
# Ad.EffectiveStatus (FB-SDK 26.0.3, 12 values), each mapped on purpose. Approved: the review passed, whatever
# the delivery state (paused here or above, archived, deleted: no review is outstanding); PREAPPROVED is
# Meta's "passed pre-review, may deliver". Pending: still in review (PENDING_REVIEW, IN_PROCESS), or held
# before it (PENDING_BILLING_INFO: reviewed once the account has a payment method). Rejected: DISAPPROVED
# (the reasons in ad_review_feedback), and WITH_ISSUES, an ad that cannot deliver until fixed (its
# issues_info says why). Any other status is pending, naming it.
_APPROVED_STATUSES = frozenset(
    {"ACTIVE", "PAUSED", "ADSET_PAUSED", "CAMPAIGN_PAUSED", "ARCHIVED", "DELETED", "PREAPPROVED"}
)
_PENDING_STATUSES = frozenset({"PENDING_REVIEW", "IN_PROCESS", "PENDING_BILLING_INFO"})
_REJECTED_STATUSES = frozenset({"DISAPPROVED", "WITH_ISSUES"})
# A video is usable once its status.video_status is "ready" (research fidelity audit row 16): polled with
# backoff from VIDEO_POLL_FIRST seconds, doubling to VIDEO_POLL_MAX, for VIDEO_READY_TIMEOUT in all.
VIDEO_POLL_FIRST = 0.25
VIDEO_POLL_MAX = 15.0
VIDEO_READY_TIMEOUT = 900.0
# Usage pacing (X-Business-Use-Case-Usage, X-Ad-Account-Usage): from PACE_FROM of a quota in use, every
# request waits (usage - PACE_FROM) / (1 - PACE_FROM) of the time the usage takes to reset, at most
# PACE_MAX seconds; at 100%, or when Meta gives estimated_time_to_regain_access, the whole wait. Linear, so
# that even a small quota regains a call's worth before the next one (tests/test_meta_fidelity.py).
PACE_FROM = 0.75
PACE_MAX = 300.0
PACE_DEFAULT_RESET = 60.0  # seconds, when the headers do not say when usage resets (UNCONFIRMED window)
# Time zones that are all UTC, whatever Meta or the spec calls them.
_UTC_NAMES = frozenset({"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"})
# Money: sent as integers in the currency's minor unit, read back as numeric strings.
_INTEGER_FIELDS = frozenset({"daily_budget", "lifetime_budget", "spend_cap", "bid_amount"})
_TIME_FIELDS = frozenset({"start_time", "end_time", "stop_time"})
_END_FIELDS = ("end_time", "stop_time")  # 0 means none: the object runs on

# Graph error codes (research 2.6).
_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80000, 80015)})
_TRANSIENT_CODES = frozenset({1, 2})
_AUTH_CODES = frozenset({10, 190, *range(200, 300)})
_NOT_FOUND_SUBCODE = 33  # with code 100: "object does not exist"


class MetaProvider:
    """Provider for one Meta target (one ad account)."""

    platform = "meta"

    def __init__(self, target: TargetConfig, token: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.target = target
        self._account_id = str(target.settings.get("ad_account_id") or "").removeprefix("act_")
        self._http = HttpClient.for_target(
            target,
            default_base_url=DEFAULT_BASE_URL,
            default_rate_limit=DEFAULT_RATE_LIMIT,
            auth_params={"access_token": token},
            error_parser=_error_detail,
            transport=transport,
            pace=lambda response: usage_pause(response, self._account_id),
        )
        self._accounts: dict[str, dict[str, Any]] = {}  # account -> its currency and time zone, fetched once
        self._currency_lock = asyncio.Lock()  # concurrent first writes wait for that one request

    def __repr__(self) -> str:
        return f"MetaProvider(target={self.target.name!r})"

    async def create(self, op: Operation) -> Applied:
        attrs = op.attributes
        account = self._account(attrs)
        _edge(op.type)
        await self._check_currency(account, attrs)
        what = f"create {op.type} {attrs.get('name')!r}"
        body = _body(attrs)
        if op.type == "adcreative":
            body = await self._with_ready_video(body)
        if op.type in ("adimage", "advideo"):
            name = str(attrs.get("name") or op.name)
            upload = (name, await read_asset(op), op.asset.media_type if op.asset else "application/octet-stream")
            if op.type == "adimage":
                # Multipart, as the SDK uploads a file: the image takes the file's name.
                reply = await self._http.request("POST", f"/act_{account}/adimages", files={"filename": upload})
                return Applied(_image_hash(reply, name, what), dict(attrs))
            data = {"name": name}
            reply = await self._http.request("POST", f"/act_{account}/advideos", data=data, files={"source": upload})
            return Applied(_new_id(reply, what), dict(attrs))
        reply = await self._http.request("POST", f"/act_{account}/{_EDGES[op.type]}", json=body)
        return Applied(_new_id(reply, what), dict(attrs))

    async def update(self, op: Operation) -> dict[str, Any]:
        if op.type == "adimage":
            raise ProviderError(
                ErrorClass.VALIDATION, "a Meta ad image cannot be changed (it is its bytes); it must be replaced"
            )
        attrs = op.attributes
        await self._check_currency(self._account(attrs), attrs)
        fields = op.changed_fields or tuple(attrs)
        # Only what changed, top-level; a field no longer in the spec is left as it is (no longer managed).
        body = _body({f: attrs[f] for f in fields if f in attrs})
        if body:
            await self._http.request("POST", f"/{op.id}", json=body)  # answers {"success": true}
        return dict(attrs)

    async def delete(self, op: Operation) -> None:
        await self._check_currency(self._account(op.attributes), {})  # the time zone: every write is checked
        try:
            if op.type == "adimage":
                account = self._account(op.attributes)
                await self._http.request("DELETE", f"/act_{account}/adimages", params={"hash": op.id})
            else:
                _edge(op.type)
                await self._http.request("DELETE", f"/{op.id}")
        except NotFound:
            pass  # already gone: the goal is met

    async def read(self, type_: str, id_: str, attributes: dict[str, Any]) -> dict[str, Any] | None:
        _edge(type_)
        fields = _fields_to_read(type_, attributes)
        if type_ == "adimage":
            rows = await self._list(
                self._account(attributes), "adimages", {"hashes": json.dumps([id_]), "fields": ",".join(fields)}
            )
            obj = next((row for row in rows if row.get("hash") == id_), None)
        else:
            try:
                obj = await self._http.request("GET", f"/{id_}", params={"fields": ",".join(fields)})
            except NotFound:
                return None
        if not isinstance(obj, dict) or obj.get("status") == "DELETED":
            return None  # deleted objects stay readable on Graph, in status DELETED
        return _attributes(type_, obj, attributes)

    async def review(self, type_: str, id_: str, attributes: dict[str, Any]) -> Review | None:
        if type_ != "ad":
            return None
        obj = await self._http.request("GET", f"/{id_}", params={"fields": _REVIEW_FIELDS})
        return _review_of(obj)

    async def find(self, op: Operation) -> str | None:
        attrs = op.attributes
        account = self._account(attrs)
        name = str(attrs.get("name") or op.name)
        if op.type == "adimage":
            return await self._find_image(account, name, op)
        edge = _edge(op.type)
        parent = _PARENTS.get(op.type)
        name_field = "title" if op.type == "advideo" else "name"
        params = {
            "fields": ",".join(["id", name_field, *([parent] if parent else [])]),
            "filtering": json.dumps([{"field": name_field, "operator": "EQUAL", "value": name}]),
        }
        matches = [
            row
            for row in await self._list(account, edge, params)
            # Never trust the filter alone: a row with another name or parent is not ours.
            if row.get(name_field) == name and (parent is None or str(row.get(parent)) == str(attrs.get(parent)))
        ]
        if not matches:
            return None
        return str(max(matches, key=lambda row: int(str(row["id"])) if str(row["id"]).isdigit() else 0)["id"])

    async def read_many(self, type_: str, recorded: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
        """Through the account edge, IDS_PER_FILTER ids a request, with the union of the fields we manage."""
        _edge(type_)
        out: dict[str, dict[str, Any] | None] = {}
        fields = list(dict.fromkeys(f for attrs in recorded.values() for f in _fields_to_read(type_, attrs)))
        for account, ids in self._by_account(recorded).items():
            for chunk in _chunks(ids, IDS_PER_FILTER):
                rows = await self._rows_by_id(type_, account, chunk, fields)
                for id_ in chunk:
                    row = rows.get(id_)
                    if row is not None:
                        out[id_] = None if row.get("status") == "DELETED" else _attributes(type_, row, recorded[id_])
        if type_ == "adimage":
            # The hashes filter returns deleted images too (status DELETED): one not returned does not exist.
            return {id_: out.get(id_) for id_ in recorded}
        # Edge reads leave out archived and deleted objects (research next-capabilities 1.3): by id, the few.
        missing = {id_: recorded[id_] for id_ in recorded if id_ not in out}
        if missing:
            out |= await read_each(self, type_, missing)
        return {id_: out[id_] for id_ in recorded}

    async def review_many(self, type_: str, recorded: Mapping[str, dict[str, Any]]) -> dict[str, Review | None]:
        if type_ != "ad":
            return {id_: None for id_ in recorded}
        out: dict[str, Review | None] = {}
        for account, ids in self._by_account(recorded).items():
            for chunk in _chunks(ids, IDS_PER_FILTER):
                rows = await self._rows_by_id(type_, account, chunk, ["id", *_REVIEW_FIELDS.split(",")])
                out |= {id_: _review_of(rows[id_]) for id_ in chunk if id_ in rows}
        missing = {id_: recorded[id_] for id_ in recorded if id_ not in out}
        if missing:
            out |= await review_each(self, type_, missing)
        return {id_: out[id_] for id_ in recorded}

    async def list_all(self, type_: str) -> list[Listed]:
        """Every object of the account edge, deleted ones left out (paused and archived ones are kept
        when the edge returns them: Graph leaves archived ones out unless filtered for)."""
        account = self._account({})
        if type_ == "adaccount":  # its currency and name: what import needs beyond the objects
            row = await self._http.request("GET", f"/act_{account}", params={"fields": ",".join(_ACCOUNT_FIELDS)})
            if not isinstance(row, dict):
                raise ProviderError(ErrorClass.NETWORK, f"unexpected response to GET /act_{account}")
            return [Listed("adaccount", account, row)]
        edge = _edge(type_)
        rows = await self._list(account, edge, {"fields": ",".join(_LIST_FIELDS[type_])})
        key = "hash" if type_ == "adimage" else "id"
        return [Listed(type_, str(row[key]), row) for row in rows if row.get(key) and row.get("status") != "DELETED"]

    def attributes_of(self, type_: str, row: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
        return _attributes(type_, row, expected)

    async def download(self, url: str) -> bytes:
        return await self._http.download(url)

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- helpers ---

    def _by_account(self, recorded: Mapping[str, dict[str, Any]]) -> dict[str, list[str]]:
        """Ids grouped by the ad account whose edge lists them."""
        groups: dict[str, list[str]] = {}
        for id_, attrs in recorded.items():
            groups.setdefault(self._account(attrs), []).append(id_)
        return groups

    async def _rows_by_id(
        self, type_: str, account: str, ids: list[str], fields: list[str]
    ) -> dict[str, dict[str, Any]]:
        """The rows of these ids that the account's edge returns, all pages followed."""
        if type_ == "adimage":
            params = {"hashes": json.dumps(ids), "fields": ",".join(dict.fromkeys(["hash", *fields]))}
            return {str(row["hash"]): row for row in await self._list(account, "adimages", params) if row.get("hash")}
        params = {
            "fields": ",".join(dict.fromkeys(["id", *fields])),
            "filtering": json.dumps([{"field": "id", "operator": "IN", "value": ids}]),
        }
        wanted = set(ids)
        rows = await self._list(account, _EDGES[type_], params)
        # Never trust the filter alone: only rows of the ids asked for count.
        return {str(row["id"]): row for row in rows if str(row.get("id")) in wanted}

    def _account(self, attrs: dict[str, Any]) -> str:
        account = str(attrs.get("account_id") or self._account_id).removeprefix("act_")
        if not account.isdigit():
            raise ProviderError(
                ErrorClass.VALIDATION, f"target {self.target.name} has no valid ad_account_id (expected act_<digits>)"
            )
        return account

    async def _check_currency(self, account: str, attrs: dict[str, Any]) -> None:
        """Before every write: the target's time zone must be the ad account's (flights are local days, written
        with the target's offset), and a budget's currency the account's (Meta bills in it only)."""
        async with self._currency_lock:
            if account not in self._accounts:
                self._accounts[account] = await self._fetch_account(account)
        settings = self._accounts[account]
        zone = str(self.target.settings.get("timezone") or "UTC")
        if not _same_zone(zone, settings["timezone_name"]):
            raise ProviderError(
                ErrorClass.VALIDATION,
                f"target {self.target.name} is in time zone {zone} but ad account act_{account} is in "
                f"{settings['timezone_name']}: set the target's timezone to {settings['timezone_name']} (flights "
                "are days in the account's time zone)",
            )
        wanted, actual = attrs.get("currency"), settings["currency"]
        if wanted is not None and actual != wanted:
            raise ProviderError(
                ErrorClass.VALIDATION,
                f"the budget is in {wanted} but ad account act_{account} bills in {actual}: "
                f"set the campaign's budget currency to {actual}, or target an ad account that bills in {wanted}",
            )

    async def _fetch_account(self, account: str) -> dict[str, Any]:
        reply = await self._http.request("GET", f"/act_{account}", params={"fields": "currency,timezone_name"})
        row = reply if isinstance(reply, dict) else {}
        if not isinstance(row.get("currency"), str) or not isinstance(row.get("timezone_name"), str):
            raise ProviderError(
                ErrorClass.NETWORK, f"ad account act_{account} answered without its currency and time zone"
            )
        return row

    async def _with_ready_video(self, body: dict[str, Any]) -> dict[str, Any]:
        """A video creative's body once its video is ready, with the video's picture as the thumbnail when
        none is named (Graph refuses video_data without image_hash or image_url: subcode 1443226). The
        thumbnail is not recorded: refresh compares the keys we manage only."""
        spec = body.get("object_story_spec")
        video = spec.get("video_data") if isinstance(spec, dict) else None
        if not isinstance(video, dict) or not video.get("video_id"):
            return body
        picture = await self._ready_video(str(video["video_id"]))
        if video.get("image_hash") or video.get("image_url") or not picture:
            return body
        return {**body, "object_story_spec": {**spec, "video_data": {**video, "image_url": picture}}}

    async def _ready_video(self, video_id: str) -> str | None:
        """Wait, with backoff, until the video's status.video_status is ready; its picture (thumbnail URL)."""
        loop = asyncio.get_running_loop()
        deadline, wait = loop.time() + VIDEO_READY_TIMEOUT, VIDEO_POLL_FIRST
        while True:
            row = await self._http.request("GET", f"/{video_id}", params={"fields": "status,picture"})
            status = (row.get("status") or {}) if isinstance(row, dict) else {}
            state = status.get("video_status") if isinstance(status, dict) else None
            if state == "ready":
                picture = row.get("picture")
                return str(picture) if picture else None
            if state == "error":
                raise ProviderError(ErrorClass.VALIDATION, f"Meta could not process video {video_id}")
            if loop.time() + wait > deadline:
                raise ProviderError(
                    ErrorClass.NETWORK,
                    f"video {video_id} is still {state or 'processing'} after {VIDEO_READY_TIMEOUT:g}s",
                )
            await asyncio.sleep(wait)
            wait = min(VIDEO_POLL_MAX, wait * 2)

    async def _list(self, account: str, edge: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """Every row of an account edge, following the `after` cursor while Graph says more follow."""
        rows: list[dict[str, Any]] = []
        query = {**params, "limit": str(PAGE_SIZE)}
        while True:
            # The `next` link is not followed: it repeats the access token, which the client adds itself.
            reply = await self._http.request("GET", f"/act_{account}/{edge}", params=query)
            data = reply.get("data") if isinstance(reply, dict) else None
            if not isinstance(data, list):
                raise ProviderError(ErrorClass.NETWORK, f"unexpected response to GET /act_{account}/{edge}: no data")
            rows += [row for row in data if isinstance(row, dict)]
            paging = reply.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return rows
            query = {**query, "after": after}

    async def _find_image(self, account: str, name: str, op: Operation) -> str | None:
        """An image of this name; when the asset is at hand, only the one with its bytes."""
        rows = await self._list(account, "adimages", {"name": name, "fields": "hash,name,status,created_time"})
        rows = [row for row in rows if row.get("name") == name and row.get("status") != "DELETED"]
        if op.asset is not None:
            try:
                digest = hashlib.md5(await read_asset(op)).hexdigest()  # noqa: S324 - Meta's image hash
            except ProviderError:
                return None  # the file changed: no image can be the one this op would upload
            rows = [row for row in rows if row.get("hash") == digest]
        if not rows:
            return None
        return str(max(rows, key=lambda row: str(row.get("created_time") or ""))["hash"])


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _review_of(obj: Any) -> Review:
    status = obj.get("effective_status") if isinstance(obj, dict) else None
    if status in _APPROVED_STATUSES:
        return Review("approved")
    if status == "DISAPPROVED":
        feedback = (obj.get("ad_review_feedback") or {}).get("global") or {}
        return Review("rejected", "; ".join(str(v) for v in feedback.values()))
    if status == "WITH_ISSUES":
        issues = [i for i in obj.get("issues_info") or [] if isinstance(i, dict)]
        text = "; ".join(str(i.get("error_message") or i.get("error_summary") or "") for i in issues)
        return Review("rejected", text or "the ad has issues (WITH_ISSUES)")
    if status == "PENDING_BILLING_INFO":
        return Review("pending", "the ad account needs a payment method before the ad is reviewed")
    if status in _PENDING_STATUSES:
        return Review("pending")
    return Review("pending", f"unknown effective_status {status!r}")


def _edge(type_: str) -> str:
    try:
        return _EDGES[type_]
    except KeyError:
        raise ProviderError(ErrorClass.VALIDATION, f"Meta has no resource type {type_!r}") from None


def _body(attrs: dict[str, Any]) -> dict[str, Any]:
    """The API fields of our attributes."""
    return {k: v for k, v in attrs.items() if k not in _NOT_SENT}


def _new_id(reply: Any, what: str) -> str:
    if not isinstance(reply, dict) or not reply.get("id"):
        # The call went through, but we cannot tell what it made.
        raise ProviderError(ErrorClass.NETWORK, f"unexpected response to {what}: no id", outcome_unknown=True)
    return str(reply["id"])


def _image_hash(reply: Any, name: str, what: str) -> str:
    """The hash from `{"images": {NAME: {"hash": ..., "url": ...}}}`."""
    images = reply.get("images") if isinstance(reply, dict) else None
    if isinstance(images, dict) and images:
        image = images.get(name) or next(iter(images.values()))
        if isinstance(image, dict) and image.get("hash"):
            return str(image["hash"])
    raise ProviderError(ErrorClass.NETWORK, f"unexpected response to {what}: no image hash", outcome_unknown=True)


def _carried(type_: str) -> frozenset[str]:
    return _CARRIED | _CARRIED_BY_TYPE.get(type_, frozenset())


def _fields_to_read(type_: str, expected: dict[str, Any]) -> list[str]:
    """Graph's names of the fields behind the type's attributes (a video's name is its title)."""
    fields = ["status"] if type_ != "advideo" else []
    for key in dict.fromkeys((*_BASE_KEYS[type_], *expected)):
        if key not in _carried(type_):
            fields.append("title" if (type_, key) == ("advideo", "name") else key)
    if type_ == "adimage":
        fields.append("hash")
    return list(dict.fromkeys(fields))


def _attributes(type_: str, obj: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    out = as_recorded(
        obj,
        expected,
        base_keys=_BASE_KEYS[type_],
        carried=_carried(type_),
        normalise=_normalise,
        renamed={"name": "title"} if type_ == "advideo" else None,  # a video's name is its title on Graph
        missing_is_unset=True,  # Graph leaves unset fields out
    )
    for key in _END_FIELDS:
        if expected.get(key) == 0 and obj.get(key) in (None, 0, "0"):
            out[key] = 0  # sent as 0 (no end); Graph reads an ongoing object without it (UNCONFIRMED)
    return out


def _managed(value: Any, expected: Any) -> Any:
    """A nested value cut down to the keys we set (fidelity audit row 4): Graph adds its own on read
    (targeting.geo_locations.location_types, video_data.image_url, ...), which are not drift."""
    if isinstance(value, dict) and isinstance(expected, dict):
        return {k: _managed(value[k], expected[k]) for k in expected if k in value}
    return value


def _normalise(key: str, value: Any, expected: Any) -> Any:
    if isinstance(value, dict) and isinstance(expected, dict) and key != "creative":
        return _managed(value, expected)
    if key == "creative" and isinstance(value, dict) and "id" in value:
        return {"creative_id": str(value["id"])}  # sent as {"creative_id": X}, read back as {"id": X}
    if key in _INTEGER_FIELDS or (isinstance(expected, int) and not isinstance(expected, bool)):
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    if key in _TIME_FIELDS and isinstance(expected, str) and _same_instant(value, expected):
        return expected  # Graph answers in the account's time zone; the instant is what counts
    if key == "account_id" or key.endswith("_id"):
        return str(value)
    return value


def _same_zone(a: str, b: str) -> bool:
    return a == b or (a in _UTC_NAMES and b in _UTC_NAMES)


def usage_pause(response: httpx.Response, account: str) -> float | None:
    """Seconds to hold the target's requests back, from Meta's usage headers (research 2.7), before it throttles.

    X-Business-Use-Case-Usage is keyed by the business object: this account's entries count (all of them when
    it is not named). X-Ad-Account-Usage is the account of the call: `acc_id_util_pct` and
    `reset_time_duration` (seconds). estimated_time_to_regain_access (minutes) is waited out whole."""
    used, reset, regain = 0.0, None, 0.0
    buc = _json_header(response, "X-Business-Use-Case-Usage")
    if isinstance(buc, dict):
        entries = buc.get(account) if account in buc else [e for v in buc.values() if isinstance(v, list) for e in v]
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            counts = [entry.get(k) for k in ("call_count", "total_cputime", "total_time")]
            used = max([used, *(float(c) / 100 for c in counts if isinstance(c, int | float))])
            minutes = entry.get("estimated_time_to_regain_access")
            if isinstance(minutes, int | float):
                regain = max(regain, float(minutes) * 60)
    ad_account = _json_header(response, "X-Ad-Account-Usage")
    if isinstance(ad_account, dict):
        if isinstance(ad_account.get("acc_id_util_pct"), int | float):
            used = max(used, float(ad_account["acc_id_util_pct"]) / 100)
        if isinstance(ad_account.get("reset_time_duration"), int | float):
            reset = float(ad_account["reset_time_duration"])
    if regain > 0:
        return regain
    if used < PACE_FROM:
        return None
    window = PACE_DEFAULT_RESET if reset is None else reset
    if used >= 1:
        return window or None
    share = (used - PACE_FROM) / (1 - PACE_FROM)
    return min(PACE_MAX, window * share) or None


def _json_header(response: httpx.Response, name: str) -> Any:
    raw = response.headers.get(name)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _same_instant(a: Any, b: str) -> bool:
    try:
        return dt.datetime.fromisoformat(str(a)) == dt.datetime.fromisoformat(b)
    except ValueError:
        return False


def _error_detail(response: httpx.Response) -> ErrorDetail:
    """Graph's `{"error": {"message", "code", "error_subcode", "error_user_msg", "fbtrace_id", ...}}`."""
    try:
        body = response.json()
    except ValueError:
        return default_error_parser(response)
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return default_error_parser(response)
    code, subcode = error.get("code"), error.get("error_subcode")
    parts = [str(error.get("message") or response.reason_phrase)]
    if error.get("error_user_title") or error.get("error_user_msg"):
        parts.append(": ".join(str(error[k]) for k in ("error_user_title", "error_user_msg") if error.get(k)))
    ids = [f"code {code}"] + ([f"subcode {subcode}"] if subcode else [])
    if error.get("fbtrace_id"):
        ids.append(f"fbtrace_id {error['fbtrace_id']}")
    message = f"{' - '.join(parts)} ({', '.join(ids)})"
    error_class = _classify(code, bool(error.get("is_transient")), response.status_code)
    return ErrorDetail(
        message,
        error_class,
        retry_after=_regain_access_seconds(response) if error_class is ErrorClass.RATE_LIMIT else None,
        not_found=code == 100 and subcode == _NOT_FOUND_SUBCODE,
    )


def _classify(code: Any, transient: bool, status: int) -> ErrorClass | None:
    if code in _RATE_LIMIT_CODES:
        return ErrorClass.RATE_LIMIT
    if code in _TRANSIENT_CODES or transient:
        return ErrorClass.NETWORK
    if code in _AUTH_CODES:
        return ErrorClass.AUTH
    # Code 100 and the rest: the request as sent was refused; a 5xx with another code keeps its status's class.
    return None if status >= 500 else ErrorClass.VALIDATION


def _regain_access_seconds(response: httpx.Response) -> float | None:
    """The longest `estimated_time_to_regain_access` (minutes) in the BUC usage header, in seconds (>= 1)."""
    raw = response.headers.get("X-Business-Use-Case-Usage")
    if not raw:
        return None
    try:
        usage = json.loads(raw)
    except ValueError:
        return None
    minutes = [
        entry["estimated_time_to_regain_access"]
        for entries in (usage.values() if isinstance(usage, dict) else [])
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict) and isinstance(entry.get("estimated_time_to_regain_access"), int | float)
    ]
    return max(1.0, max(minutes) * 60) if minutes else None
