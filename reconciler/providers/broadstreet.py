"""Broadstreet ad server, API /api/1 (research/platform-apis.md section 1).

Creates go where Broadstreet's official Ruby client (broadstreet-ruby,
lib/broadstreet/*_methods.rb) sends them: under the parent, `POST
/networks/{n}/advertisers`, `/networks/{n}/zones`, `/advertisers/{a}/campaigns`
(research fidelity-audit.md row 14). Reads, updates and deletes use the flat
routes the gem also uses (`GET/PUT/DELETE /campaigns/{c}`), lists take the
parent id as a filter (`/campaigns?advertiser_id=`). The token goes in the
`access_token` query parameter, bodies are form-encoded as both official
clients send them (row 15), replies come in `{"advertiser": {...}}` envelopes.
Placements have no id of their own: ours is the "CAMPAIGN/AD/ZONE" triple.

Many reads go through the list endpoints, one call per parent: advertisers
and zones by network, campaigns and advertisements by advertiser, placements
by campaign. No public client sends paging parameters, so the lists are taken
to be unpaged (UNCONFIRMED, research next-capabilities.md 1.3); an id a list
leaves out is read on its own, which also covers a list that pages silently,
and so is one whose row lacks a field we manage (list rows may be shorter than
object reads: BS-JOM's docs show ad rows without destination, UNCONFIRMED).
No client sends a `fields` parameter, so whole rows come back.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from reconciler.model import Operation, TargetConfig
from reconciler.providers.assets import read_asset
from reconciler.providers.base import Applied, ErrorClass, Listed, ProviderError, Review
from reconciler.providers.batch import CONCURRENCY
from reconciler.providers.http import ErrorDetail, HttpClient, NotFound, default_error_parser
from reconciler.providers.vocabulary import as_recorded

DEFAULT_BASE_URL = "https://api.broadstreetads.com/api/1"
# Broadstreet documents no limit outside reporting (2 requests / 5 s, which we
# never call); a public client sleeps 50 ms after each write (about 20/s). Half
# of that stays polite while an apply of a few hundred objects takes under a minute.
DEFAULT_RATE_LIMIT = 10.0


@dataclass(frozen=True)
class _Kind:
    """How one object type sits in /api/1 (placements are handled apart)."""

    path: str  # collection path, also the list envelope key
    key: str  # single-object envelope key
    parent: str  # the attribute holding the parent's id
    parent_path: str  # the parent's collection: creates go to /{parent_path}/{parent id}/{path}

    def create_path(self, parent_id: Any) -> str:
        return f"/{self.parent_path}/{parent_id}/{self.path}"


_KINDS = {
    # The gem: create_advertiser / create_zone POST api/1/networks/#{network_id}/..., create_campaign
    # POST api/1/advertisers/#{advertiser_id}/campaigns.
    "advertiser": _Kind("advertisers", "advertiser", "network_id", "networks"),
    "zone": _Kind("zones", "zone", "network_id", "networks"),
    "campaign": _Kind("campaigns", "campaign", "advertiser_id", "advertisers"),
    # UNCONFIRMED: the gem has no advertisement methods at all. Nested under the advertiser as the
    # gem nests campaigns, and as the official PHP client (/api/0) nests both; the only /api/1 source
    # for an ad create, third-party docs (BS-JOM), shows POST /advertisements?advertiser_id= instead.
    "advertisement": _Kind("advertisements", "advertisement", "advertiser_id", "advertisers"),
}
PLACEMENT_KEYS = ("campaign_id", "advertisement_id", "zone_id")

# Our attributes that are never sent: a content hash the compiler tracks.
_NOT_SENT = {"asset_sha256"}
# Attributes the API does not give back as sent, carried over from what we
# applied: the asset hash, and an ad's `html`, which responses fill with the
# embed script instead (research 1.4).
_CARRIED = {"advertisement": {"asset_sha256", "html"}}
# Always part of a type's attributes, whatever was recorded.
_BASE_KEYS = {
    "advertiser": ("name", "network_id"),
    "zone": ("name", "network_id"),
    "campaign": ("name", "advertiser_id", "start_date", "end_date", "paused"),
    "advertisement": ("name", "advertiser_id", "type"),
    "placement": (*PLACEMENT_KEYS, "restrictions"),
}
_ID_KEYS = {"network_id", "advertiser_id", *PLACEMENT_KEYS}
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}")


class BroadstreetProvider:
    """Provider for one Broadstreet target (one network)."""

    platform = "broadstreet"

    def __init__(self, target: TargetConfig, token: str, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.target = target
        self._network_id = target.settings.get("network_id")
        self._http = HttpClient.for_target(
            target,
            default_base_url=DEFAULT_BASE_URL,
            default_rate_limit=DEFAULT_RATE_LIMIT,
            auth_params={"access_token": token},
            error_parser=_error_detail,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"BroadstreetProvider(target={self.target.name!r})"

    async def create(self, op: Operation) -> Applied:
        attrs = op.attributes
        if op.type == "placement":
            key = _placement_key(attrs)
            # The gem has no placement methods: POST /placements is the one /api/1 route seen (BS-JOM).
            # No restriction is not sent at all (the API documents one string or none).
            body = {k: v for k, v in _body(attrs, ()).items() if not (k == "restrictions" and v is None)}
            await self._http.request("POST", "/placements", data=_form(body))  # 201, empty body
            return Applied("/".join(key), _attributes("placement", attrs, attrs))
        kind = _kind(op.type)
        body = _body(attrs, (kind.parent,))  # the parent is in the path
        if op.type == "advertisement" and attrs.get("type") == "static":
            body["active_base64"] = base64.b64encode(await read_asset(op)).decode("ascii")
        data = await self._http.request("POST", kind.create_path(attrs[kind.parent]), data=_form(body))
        obj = _unwrap(data, kind.key, f"create {op.type} {attrs.get('name')!r}")
        return Applied(str(obj["id"]), _attributes(op.type, obj, attrs))

    async def update(self, op: Operation) -> dict[str, Any]:
        if op.type not in ("advertiser", "zone", "campaign"):
            raise ProviderError(
                ErrorClass.VALIDATION,
                f"a Broadstreet {op.type} cannot be changed in place (/api/1 has no update); it must be replaced",
            )
        kind = _kind(op.type)
        fields = op.changed_fields or tuple(op.attributes)
        # A field no longer in the spec is left as it is on the platform (no longer managed).
        changed = {f: op.attributes[f] for f in fields if f in op.attributes}
        data = await self._http.request("PUT", f"/{kind.path}/{op.id}", data=_form(_body(changed, (kind.parent,))))
        return _attributes(op.type, _unwrap(data, kind.key, f"update {op.type} {op.id}"), op.attributes)

    async def delete(self, op: Operation) -> None:
        try:
            if op.type == "placement":
                key = _split_placement_id(op.id or "")
                await self._http.request("DELETE", "/placements", params=dict(zip(PLACEMENT_KEYS, key, strict=True)))
            else:
                await self._http.request("DELETE", f"/{_kind(op.type).path}/{op.id}")
        except NotFound:
            pass  # already gone: the goal is met

    async def read(self, type_: str, id_: str, attributes: dict[str, Any]) -> dict[str, Any] | None:
        if type_ == "placement":
            key = _split_placement_id(id_)
            row = await self._find_placement(key)
            return None if row is None else _attributes("placement", row, attributes)
        kind = _kind(type_)
        try:
            data = await self._http.request("GET", f"/{kind.path}/{id_}")
        except NotFound:
            return None
        return _attributes(type_, _unwrap(data, kind.key, f"read {type_} {id_}"), attributes)

    async def find(self, op: Operation) -> str | None:
        attrs = op.attributes
        if op.type == "placement":
            key = _placement_key(attrs)
            return "/".join(key) if await self._find_placement(key) is not None else None
        kind = _kind(op.type)
        parent = str(attrs[kind.parent])
        params = {kind.parent: parent}
        if op.type == "advertisement" and self._network_id is not None:
            params["network_id"] = str(self._network_id)
        rows = await self._list(kind.path, params)
        # A zone's alias is its stable key when it has one.
        field = "alias" if op.type == "zone" and attrs.get("alias") else "name"
        matches = [
            row
            for row in rows
            if row.get(field) == attrs[field]
            # Never trust the filter alone: a row naming another parent is not ours.
            and str(row.get(kind.parent, parent)) == parent
            and (op.type != "advertisement" or ad_type(row.get("type", attrs["type"])) == attrs["type"])
        ]
        if not matches:
            return None
        return str(max(matches, key=lambda row: _id_order(row["id"]))["id"])

    async def review(self, type_: str, id_: str, attributes: dict[str, Any]) -> Review | None:
        return None  # an ad server: what the network puts in its zones is not reviewed

    async def read_many(self, type_: str, recorded: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
        """One list call per recorded parent; ids a list leaves out are read one by one."""
        if type_ == "placement":
            return await self._read_placements(recorded)
        kind = _kind(type_)
        # Group the ids by the parent they were recorded under; without one, read each on its own.
        by_parent: dict[str, list[str]] = {}
        alone: list[str] = []
        for id_, attrs in recorded.items():
            parent = attrs.get(kind.parent, self._network_id if kind.parent == "network_id" else None)
            (by_parent.setdefault(str(parent), []) if parent is not None else alone).append(id_)
        rows_by_parent = dict(
            zip(by_parent, await self._gather(self._list_of(type_, parent) for parent in by_parent), strict=True)
        )
        out: dict[str, dict[str, Any] | None] = {}
        for parent, ids in by_parent.items():
            rows = {str(row.get("id")): row for row in rows_by_parent[parent]}
            for id_ in ids:
                if id_ in rows and _has_fields(type_, rows[id_], recorded[id_]):
                    out[id_] = _attributes(type_, rows[id_], recorded[id_])
                else:
                    # Not listed: archived, deleted, or past a page the list did not say it had.
                    # Listed without a field we manage (list rows may be shorter than object reads,
                    # UNCONFIRMED): a missing field would read as unchanged, so read the object.
                    alone.append(id_)
        read = await self._gather(self.read(type_, id_, recorded[id_]) for id_ in alone)
        out.update(zip(alone, read, strict=True))
        return {id_: out[id_] for id_ in recorded}

    async def list_all(self, type_: str) -> list[Listed]:
        """Every live object of a type in the network: advertisers and zones by network, campaigns
        and advertisements of every advertiser, placements of every campaign."""
        if type_ in ("advertiser", "zone"):
            rows = await self._list_of(type_, str(self._network_id))
        elif type_ in ("campaign", "advertisement"):
            advertisers = await self._list_of("advertiser", str(self._network_id))
            per = await self._gather(self._list_of(type_, str(a["id"])) for a in advertisers)
            rows = [row for rows in per for row in rows]
            if type_ == "advertisement":
                rows = await self._gather(self._complete_ad(row) for row in rows)
        elif type_ == "placement":
            advertisers = await self._list_of("advertiser", str(self._network_id))
            campaigns = await self._gather(self._list_of("campaign", str(a["id"])) for a in advertisers)
            ids = [str(c["id"]) for rows in campaigns for c in rows]
            per = await self._gather(self._placements_of(id_) for id_ in ids)
            rows = [row for rows in per for row in rows]
            return [Listed("placement", "/".join(_placement_key(row)), row) for row in rows]
        else:
            _kind(type_)  # raises for an unknown type
            rows = []
        return [Listed(type_, str(row["id"]), row) for row in rows if "id" in row]

    def attributes_of(self, type_: str, row: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
        return _attributes(type_, row, expected)

    async def download(self, url: str) -> bytes:
        return await self._http.download(url)

    async def review_many(self, type_: str, recorded: Mapping[str, dict[str, Any]]) -> dict[str, Review | None]:
        return dict.fromkeys(recorded)  # nothing is reviewed on an ad server: no request

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _list(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """The rows of a list call; none when the parent itself is gone."""
        try:
            data = await self._http.request("GET", f"/{path}", params=params)
        except NotFound:
            return []
        # Envelope `{"zones": [...]}`; placements come as a bare array.
        rows = data.get(path) if isinstance(data, dict) else data
        if not isinstance(rows, list):
            raise ProviderError(ErrorClass.NETWORK, f"unexpected response to GET /{path}: no list of {path}")
        return [row for row in rows if isinstance(row, dict)]

    async def _find_placement(self, key: tuple[str, str, str]) -> dict[str, Any] | None:
        for row in await self._placements_of(key[0]):
            if _placement_key(row) == key:
                return row
        return None

    async def _placements_of(self, campaign_id: str) -> list[dict[str, Any]]:
        # Rows may leave out the campaign they were listed by (BS-JOM reads a bare array).
        rows = await self._list("placements", {"campaign_id": campaign_id})
        return [{"campaign_id": campaign_id, **row} for row in rows]

    async def _read_placements(self, recorded: Mapping[str, dict[str, Any]]) -> dict[str, dict[str, Any] | None]:
        """Placements of each recorded campaign, one list call per campaign.

        A triple its campaign's list leaves out is gone: read() would send the same list call again.
        """
        keys = {id_: _split_placement_id(id_) for id_ in recorded}
        campaigns = sorted({key[0] for key in keys.values()})
        listed = await self._gather(self._placements_of(campaign) for campaign in campaigns)
        rows = {_placement_key(row): row for rows in listed for row in rows}
        return {
            id_: _attributes("placement", rows[key], recorded[id_]) if key in rows else None
            for id_, key in keys.items()
        }

    async def _complete_ad(self, row: dict[str, Any]) -> dict[str, Any]:
        """An ad's list row with its content fields, read on its own where the row leaves them out.

        BS-JOM's v1 docs show list rows with only id, name, type, advertiser and `active.url`; the
        object read carries destination and text. The sandbox's rows are whole, so this sends nothing.
        """
        needed = {"destination", "default_text" if ad_type(row.get("type", "")) == "text" else "active_url"}
        if needed <= row.keys() or "id" not in row:
            return row
        try:
            data = await self._http.request("GET", f"/advertisements/{row['id']}")
        except NotFound:
            return row  # gone since it was listed: the importer says what it lacks
        return {**row, **_unwrap(data, "advertisement", f"read advertisement {row['id']}")}

    async def _list_of(self, type_: str, parent: str) -> list[dict[str, Any]]:
        """The rows of one type under one parent (a network or an advertiser), each naming that parent."""
        kind = _kind(type_)
        params = {kind.parent: parent}
        if type_ == "advertisement":  # /advertisements needs the network as well (research 1.3)
            params["network_id"] = str(self._network_id)
        # A row that leaves out the parent it was listed by (BS-JOM's docs show ad rows naming the
        # advertiser by name only) gets it from the query; one naming another parent is kept as it is.
        return [{kind.parent: _parent_value(kind.parent, parent), **row} for row in await self._list(kind.path, params)]

    async def _gather(self, calls: Any) -> list[Any]:
        """Await `calls` a few at a time (the rate limiter still paces them), results in order."""
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(call: Any) -> Any:
            async with gate:
                return await call

        return list(await asyncio.gather(*(one(call) for call in calls)))


def _has_fields(type_: str, row: dict[str, Any], recorded: dict[str, Any]) -> bool:
    """Whether a list row carries every field read() would take from the object for `recorded`."""
    carried = _CARRIED.get(type_, set())
    return all(key in row for key in (*_BASE_KEYS[type_], *recorded) if key not in carried)


def _parent_value(key: str, parent: str) -> Any:
    """A parent id as the API writes it in rows: a number."""
    return int(parent) if parent.isdigit() else parent


def _kind(type_: str) -> _Kind:
    try:
        return _KINDS[type_]
    except KeyError:
        raise ProviderError(ErrorClass.VALIDATION, f"Broadstreet has no resource type {type_!r}") from None


def _body(attrs: dict[str, Any], omit: tuple[str, ...]) -> dict[str, Any]:
    """The API fields of our attributes: without the hash and ids sent in the path or query."""
    return {k: v for k, v in attrs.items() if k not in _NOT_SENT and k not in omit}


def _form(fields: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """Fields form-encoded as Faraday (the Ruby gem) and Rails write them.

    None is sent empty, which Rails reads as nil (so `end_date=` clears an end date), booleans as
    "true"/"false", lists as repeated `key[]`, hashes as `key[sub]` (Faraday's NestedParamsEncoder).
    """
    out: dict[str, str | list[str]] = {}

    def put(key: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for sub, item in value.items():
                put(f"{key}[{sub}]", item)
        elif isinstance(value, list | tuple):
            out[f"{key}[]"] = [_form_value(item) for item in value]
        else:
            out[key] = _form_value(value)

    for key, value in fields.items():
        put(key, value)
    return out


def _form_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _placement_key(attrs: dict[str, Any]) -> tuple[str, str, str]:
    return tuple(str(attrs[k]) for k in PLACEMENT_KEYS)  # type: ignore[return-value]


def _split_placement_id(id_: str) -> tuple[str, str, str]:
    parts = id_.split("/")
    if len(parts) != 3 or not all(parts):
        raise ProviderError(ErrorClass.VALIDATION, f"not a Broadstreet placement id: {id_!r} (expected C/A/Z)")
    return parts[0], parts[1], parts[2]


def _unwrap(data: Any, key: str, what: str) -> dict[str, Any]:
    """The object of a `{"campaign": {...}}` envelope (or an unwrapped object,
    which some docs show for show/update: research 1.3)."""
    obj = data.get(key, data) if isinstance(data, dict) else None
    if not isinstance(obj, dict) or "id" not in obj:
        # The call went through, but we cannot tell what it made.
        raise ProviderError(ErrorClass.NETWORK, f"unexpected response to {what}: no {key} object", outcome_unknown=True)
    return obj


def _attributes(type_: str, obj: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return as_recorded(
        obj, expected, base_keys=_BASE_KEYS[type_], carried=_CARRIED.get(type_, set()), normalise=_normalise
    )


def _normalise(key: str, value: Any, expected: Any) -> Any:
    if value is None:
        return None
    if key == "restrictions":
        return restriction(value)
    if key == "type":
        return ad_type(value)
    if key in ("start_date", "end_date") and isinstance(value, str) and _DATE_RE.match(value):
        return value[:10]  # some replies carry a time of day; we manage dates
    if isinstance(expected, bool) or key == "paused":
        return value.strip().lower() in ("true", "1", "t", "yes") if isinstance(value, str) else bool(value)
    if isinstance(expected, int | float) and isinstance(value, str | int | float):
        # Ids and decimals may come back as strings ("85", "1.5").
        try:
            return type(expected)(value)
        except ValueError:
            return value
    if key in _ID_KEYS or isinstance(expected, str):
        return str(value) if isinstance(value, int | float) else value
    return value


def restriction(value: Any) -> str | None:
    """A placement's `restrictions` as we record it: one lower-case string, or None for none.

    The API takes one string; replies may echo it capitalised ("Phone", BS-JOM's docs) or as an
    array (research 1.4), and placements made before the one-string rule hold `[]` or a list. A
    combination we could never have sent reads back joined ("desktop,tablet"), as drift.
    """
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else [value]
    names = sorted({str(item).strip().lower() for item in items if str(item).strip()})
    return ",".join(names) or None


def ad_type(value: Any) -> str:
    """The type we send ("static") from the server's class name ("StaticAdvertisement")."""
    text = str(value)
    return text.removesuffix("Advertisement").lower() if text.endswith("Advertisement") else text


def _id_order(id_: Any) -> tuple[int, int | str]:
    text = str(id_)
    return (1, int(text)) if text.isdigit() else (0, text)


def _error_detail(response: httpx.Response) -> ErrorDetail:
    """`{"error": "..."}` or `{"errors": {"field": ["msg", ...]}}` (UNCONFIRMED shapes, research 1.5)."""
    try:
        body = response.json()
    except ValueError:
        return default_error_parser(response)
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, dict) and errors:
            return ErrorDetail(
                "; ".join(
                    f"{field}: {', '.join(map(str, msgs if isinstance(msgs, list) else [msgs]))}"
                    for field, msgs in errors.items()
                )
            )
        if isinstance(body.get("error"), str):
            return ErrorDetail(body["error"])
    return default_error_parser(response)
