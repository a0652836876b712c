"""The route handlers of the emulated Graph API: lookups, rendering, edges and their pages, uploads."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import time
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reconciler.sandbox.context import AccountSettings, ReviewRule, Sandbox
from reconciler.sandbox.meta import media
from reconciler.sandbox.meta.errors import GraphError, _invalid, _not_found, _param_error
from reconciler.sandbox.meta.validation import (
    ACCOUNT_FIELDS,
    AD_EFFECTIVE_STATUSES,
    BID_AMOUNT_STRATEGIES,
    CALL_TO_ACTION_TYPES,
    CHILDREN,
    CREATIVE_STATUSES,
    IMAGE_FIELDS,
    IMAGE_MAGIC,
    LINK_DATA_KEYS,
    MONEY_FIELDS,
    SDK_FIELDS,
    STATUSES,
    STORY_KINDS,
    STORY_SPEC_KEYS,
    THUMBNAIL_SUBCODE,
    TIME_FIELDS,
    TYPES,
    VIDEO_BOXES,
    VIDEO_DATA_KEYS,
    VIDEO_FIELDS,
    WRITE_ONLY,
    Coerce,
    _Bad,
    _check_keys,
    _check_promoted_object,
    _check_targeting,
    _choice,
    _list,
    _now,
    _Type,
)
from reconciler.sandbox.store import Store, StoredObject

NESTED_KEYS = {"link_data": LINK_DATA_KEYS, "video_data": VIDEO_DATA_KEYS}

NAME = "meta"
MOUNT = media.MOUNT  # the API and the uploads' CDN beside it
# v26.0 is the version of FB-SDK 26.0.3, whose enums the emulator takes; v25.0 is still a live Graph version and
# answers the same here, so a target whose api_base_url pins it keeps working.
API = "/v26.0"
VERSIONS = ("/v26.0", "/v25.0")
PREFIX = MOUNT + API  # replaces https://graph.facebook.com/v26.0

ACCOUNT_CURRENCY = "USD"
ACCOUNT_TIMEZONE = "UTC"  # of an account made on first use; POST /__sandbox__/accounts chooses another
DEFAULT_LIMIT = 25  # Graph's default page size (graph-api/results examples)
# Graph caps `limit` per edge "for performance reasons" and still answers with correct paging
# links (graph-api/results), rather than refusing: the sandbox does the same. The cap of the
# ads edges is not published (UNCONFIRMED); 500 is what clients commonly ask for.
MAX_LIMIT = 500
SANDBOX_ONLY = "sandbox_"  # stored-field prefix for facts the real API would not return
BYTES = media.BYTES  # an upload's bytes, base64, served at its CDN URL


@dataclass
class _Call:
    """One request, as the handlers see it."""

    request: Request
    params: dict[str, Any]
    files: dict[str, tuple[str, bytes]]  # multipart field -> (file name, bytes)

    def fields(self, default: Iterable[str]) -> list[str]:
        raw = self.params.get("fields")
        if raw is None or not str(raw).strip():
            return list(default)
        # Nested field syntax (`creative{id}`) is not emulated: only the field name counts.
        return [part.strip().split("{")[0] for part in str(raw).split(",") if part.strip()]


async def _read_call(request: Request) -> _Call:
    """Query and body params merged (body wins), plus multipart files."""
    params: dict[str, Any] = dict(request.query_params.items())
    files: dict[str, tuple[str, bytes]] = {}
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        async with request.form(max_part_size=64 * 1024 * 1024) as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    files[key] = (value.filename or key, await value.read())
                else:
                    params[key] = value
        return _Call(request, params, files)
    body = await request.body()
    if body.strip():
        if content_type != "application/json":
            raise _param_error(f"Unsupported content type {content_type or 'none'}: send JSON or form fields")
        try:
            data = json.loads(body)
        except ValueError:
            raise _param_error("The request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise _param_error("The JSON body must be an object")
        params.update(data)
    return _Call(request, params, files)


def _token(request: Request, params: dict[str, Any]) -> str | None:
    token = params.pop("access_token", None)
    if token:
        return str(token)
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _cursor(id_: str) -> str:
    return base64.urlsafe_b64encode(id_.encode()).decode("ascii").rstrip("=")


def _uncursor(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _param_error("Invalid cursor") from None


class MetaApi:
    """The route handlers. Each runs under the store's lock, so check-then-write is atomic."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.store = sandbox.store
        self._origin = ""

    def routes(self) -> list[BaseRoute]:
        """Mounted at MOUNT: the API under its version, the uploads' CDN beside it (no token needed)."""
        methods = ["GET", "POST", "DELETE"]
        return [
            *(Route(version + "/{node}", self._endpoint, methods=methods) for version in VERSIONS),
            *(Route(version + "/{node}/{edge}", self._endpoint, methods=methods) for version in VERSIONS),
            *media.routes(self.store),
        ]

    async def _endpoint(self, request: Request) -> Response:
        response = await self._answer(request)
        # Every answer carries the usage of the ad account the call counted against (BUC and ad account
        # usage headers), so a client can slow down before it is throttled.
        account = account_of(self.store, request.url.path)
        if account is not None:
            response.headers.update(usage_headers(account, self.sandbox.faults.usage(NAME)))
        return response

    async def _answer(self, request: Request) -> Response:
        try:
            call = await _read_call(request)
            token = _token(request, call.params)
            if not self.sandbox.auth.accepts(NAME, token):
                # Graph answers OAuth errors with 400 (some edges answer 401): 400 is the common case.
                raise GraphError("Invalid OAuth access token.", 190)
            if self.sandbox.auth.access_tokens_expired(NAME):  # subcode 463: the token has expired
                raise GraphError("Error validating access token: Session has expired.", 190, subcode=463)
            node, edge = request.path_params["node"], request.path_params.get("edge")
            method = "GET" if request.method == "HEAD" else request.method
            with self.store.transaction():
                # Where uploads are served: this server, as the client reached it (no await until used).
                self._origin = f"{request.url.scheme}://{request.url.netloc}"
                if node.startswith("act_"):
                    return self._account_call(method, self._account(node), edge, call)
                if edge is not None:
                    raise self._no_field(edge, self._live_or_deleted(node)[1].node)
                return self._node_call(method, node, call)
        except GraphError as exc:
            return exc.response

    # --- lookups ---

    def _account(self, node: str) -> StoredObject:
        """An ad account; any numeric act_ id is provisioned on first use so a fresh sandbox serves any spec."""
        number = node.removeprefix("act_")
        if not number.isdigit():
            raise _not_found(node)
        return self.store.get(NAME, "adaccount", number) or provision(self.store, number)

    def _live_or_deleted(self, id_: str) -> tuple[StoredObject, _Type]:
        """An ads object by id, deleted ones included (they stay readable); videos only while they exist."""
        for type_ in TYPES.values():
            obj = self.store.get(NAME, type_.name, id_, include_deleted=type_.name != "advideo")
            if obj is not None:
                return obj, type_
        raise _not_found(id_)

    def _parent(self, type_name: str, id_: Any, account: str, param: str) -> StoredObject:
        obj = self.store.get(NAME, type_name, str(id_))
        if obj is None or obj.fields["account_id"] != account:
            raise _invalid(
                f"Invalid {param}",
                f"{param} {id_} is not a live {TYPES[type_name].node} of ad account act_{account}.",
            )
        return obj

    @staticmethod
    def _no_field(name: str, node: str) -> GraphError:
        return _param_error(f"Tried accessing nonexisting field ({name}) on node type ({node})")

    def _check_not_rejected(self, type_name: str) -> None:
        if self.sandbox.faults.rejects(NAME, type_name):
            raise _invalid("Creation rejected", f"{type_name} creation was rejected (sandbox fault injection).")

    # --- dispatch ---

    def _account_call(self, method: str, account: StoredObject, edge: str | None, call: _Call) -> Response:
        if edge is None:
            if method != "GET":
                raise _param_error(f"Unsupported {method.lower()} request on the ad account in the sandbox")
            return JSONResponse(self._render_account(account, call.fields(("id", "account_id"))))
        if edge == "adimages":
            handlers = {"GET": self.list_images, "POST": self.upload_images, "DELETE": self.delete_image}
            return handlers[method](account, call)
        type_ = next((t for t in TYPES.values() if t.edge == edge), None)
        if type_ is None:
            raise self._no_field(edge, "AdAccount")
        if method == "GET":
            return self.list_objects(account, type_, call)
        if method == "POST":
            self._check_not_rejected(type_.name)
            if type_.name == "advideo":
                return self.upload_video(account, call)
            return self.create_object(account, type_, call)
        raise _param_error(f"Unsupported delete request on /{edge}")

    def _node_call(self, method: str, node: str, call: _Call) -> Response:
        obj, type_ = self._live_or_deleted(node)
        if method == "GET":
            return JSONResponse(self._render(obj, type_, call.fields(type_.default_fields)))
        if method == "POST":
            return self.update_object(obj, type_, call)
        return self.delete_object(obj, type_)

    # --- rendering ---

    def _render_account(self, account: StoredObject, fields: list[str]) -> dict[str, Any]:
        return render_account(account, fields)

    def _render(self, obj: StoredObject, type_: _Type, fields: list[str]) -> dict[str, Any]:
        """The requested fields of an object; unset ones are left out, as Graph does."""
        values = self._readable(obj, type_)
        readable = VIDEO_FIELDS if type_.name == "advideo" else {"id", *type_.params, *type_.computed} - WRITE_ONLY
        readable = readable | SDK_FIELDS[type_.name]
        out: dict[str, Any] = {}
        for name in fields:
            if name not in readable:
                raise self._no_field(name, type_.node)
            if values.get(name) is not None:
                out[name] = values[name]
        out.setdefault("id", obj.id)
        return out

    def _readable(self, obj: StoredObject, type_: _Type) -> dict[str, Any]:
        values = {k: v for k, v in obj.fields.items() if not k.startswith(SANDBOX_ONLY)}
        values["id"] = obj.id
        for name in MONEY_FIELDS & values.keys():
            values[name] = str(values[name])
        zone = self._zone(obj.fields.get("account_id"))
        for name in TIME_FIELDS:
            if isinstance(values.get(name), str):
                values[name] = _local_time(values[name], zone)  # Graph answers in the account's time zone
        if type_.name == "advideo":
            values["status"] = _video_status(obj)
            values["source"] = media.url(self._origin, "advideo", obj.id)
            values["picture"] = media.url(self._origin, "picture", obj.id)
            return values
        self._server_keys(type_, values)
        if obj.deleted:
            values["status"] = "DELETED"
        values["configured_status"] = values.get("status")
        review = self.sandbox.reviews.outcome(obj.fields.get("name", "")) if type_.name == "ad" else None
        values["effective_status"] = self._effective_status(obj, values["status"], review)
        if type_.name == "ad":
            # Quirk: sent as {"creative_id": X}, read back as {"id": X}.
            values["creative"] = {"id": obj.fields["creative"]["creative_id"]}
            if values["effective_status"] == "DISAPPROVED":
                reason = (review.reason if review else None) or "Ad rejected by review"
                values["ad_review_feedback"] = {"global": {"reason": reason}}
            if values["effective_status"] == "WITH_ISSUES":
                reason = (review.reason if review else None) or "The ad has an issue that stops its delivery"
                values["issues_info"] = [
                    {"level": "AD", "error_code": 1815869, "error_type": "HARD_ERROR",
                     "error_summary": reason, "error_message": reason}
                ]  # fmt: skip  # the error_code is an example (UNCONFIRMED)
        if type_.name in ("campaign", "adset"):
            budget = next((values[k] for k in ("daily_budget", "lifetime_budget") if k in values), "0")
            values["budget_remaining"] = str(budget)  # nothing is spent in the sandbox
        return values

    def _zone(self, account_id: Any) -> str:
        account = self.store.get(NAME, "adaccount", str(account_id)) if account_id else None
        return str(account.fields.get("timezone_name") or ACCOUNT_TIMEZONE) if account else ACCOUNT_TIMEZONE

    def _server_keys(self, type_: _Type, values: dict[str, Any]) -> None:
        """Keys real Graph adds to nested specs on read (fidelity audit row 4), so refresh meets them."""
        targeting = values.get("targeting")
        if type_.name == "adset" and isinstance(targeting, dict):
            targeting = json.loads(json.dumps(targeting))
            geo = targeting.setdefault("geo_locations", {})
            geo.setdefault("location_types", ["home", "recent"])
            targeting.setdefault("targeting_automation", {"advantage_audience": 0})
            values["targeting"] = targeting
        spec = values.get("object_story_spec")
        if type_.name == "adcreative" and isinstance(spec, dict) and isinstance(spec.get("video_data"), dict):
            spec = json.loads(json.dumps(spec))
            video = spec["video_data"]
            if video.get("image_hash") and not video.get("image_url"):
                key = f"{values.get('account_id')}:{video['image_hash']}"
                video["image_url"] = media.url(self._origin, "adimage", key)  # the thumbnail's URL, beside its hash
            values["object_story_spec"] = spec

    def _effective_status(self, obj: StoredObject, status: str, review: ReviewRule | None) -> str:
        """Deleted and archived first, then review rejection, pending review, own pause, a parent's pause."""
        if status in ("DELETED", "ARCHIVED") or obj.type == "adcreative":
            return status
        if review is not None and review.platform_status in AD_EFFECTIVE_STATUSES and obj.type == "ad":
            return review.platform_status  # a rule naming Graph's own status (e.g. PREAPPROVED, WITH_ISSUES)
        if review is not None and review.status == "rejected":
            return "DISAPPROVED"
        if review is not None and review.status == "pending" and obj.type == "ad":
            # An ad created paused is still reviewed (what activation: after_review relies on), so a
            # pending review shows before the pause. UNCONFIRMED: which of the two Graph reports.
            return "PENDING_REVIEW"
        if status == "PAUSED":
            return "PAUSED"
        for parent_type in ("campaign", "adset"):
            parent_id = obj.fields.get(f"{parent_type}_id")
            parent = self.store.get(NAME, parent_type, parent_id) if parent_id else None
            if parent is not None and parent.fields.get("status") == "PAUSED":
                return f"{parent_type.upper()}_PAUSED"
        if review is not None and review.status == "pending":
            return "PENDING_REVIEW"  # an ad set under review rules: not an ad, so no review to show first
        return "ACTIVE"

    # --- ads objects: create / update / delete / list ---

    @staticmethod
    def _coerce(node: str, params: dict[str, Any], coercers: dict[str, Coerce]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, raw in params.items():
            if name == "fields":
                continue
            if name not in coercers:
                # Unknown params are refused rather than ignored (UNCONFIRMED): a typo in an
                # override then fails at once, naming the field.
                raise _param_error(f"Param {name} is not a valid parameter for {node}")
            try:
                values[name] = coercers[name](raw)
            except _Bad as exc:
                raise _param_error(f"param {name} {exc}") from None
        return values

    def create_object(self, account: StoredObject, type_: _Type, call: _Call) -> Response:
        values = self._coerce(type_.node, call.params, type_.params)
        for name in type_.required:
            if values.get(name) in (None, ""):
                raise _param_error(f"The parameter {name} is required")
        fields: dict[str, Any] = {"account_id": account.id, **values}
        if type_.name in ("campaign", "adset", "ad"):
            fields.setdefault("status", "ACTIVE")  # Graph's default when none is sent (UNCONFIRMED)
        if type_.name == "campaign":
            fields.setdefault("buying_type", "AUCTION")
        elif type_.name == "adcreative":
            fields.setdefault("name", f"Sandbox creative {_now()}")
            fields["status"] = "ACTIVE"
        self._validate(type_, fields)
        if type_.name == "ad":  # an ad also knows its campaign
            fields["campaign_id"] = self._parent("adset", fields["adset_id"], account.id, "adset_id").fields[
                "campaign_id"
            ]
        if "validate_only" in (fields.pop("execution_options", None) or []):
            return JSONResponse({"success": True})  # a dry run: checked, nothing made
        now = _now()
        id_ = str(self.store.new_id(NAME, type_.name, type_.first_id))
        self.store.put(NAME, type_.name, id_, {**fields, "created_time": now, "updated_time": now})
        return JSONResponse({"id": id_})

    def update_object(self, obj: StoredObject, type_: _Type, call: _Call) -> Response:
        """POST /{id} with the changed fields only; immutable ones are refused."""
        if obj.deleted:
            raise _invalid("Object deleted", f"{type_.node} {obj.id} is deleted and cannot be edited.")
        fixed = [name for name in call.params if name in type_.params and name not in type_.updatable]
        if fixed:
            raise _invalid(
                "Field cannot be changed",
                f"{', '.join(fixed)} of {type_.node} {obj.id} cannot be changed after it is created; "
                f"create a new {type_.node} instead.",
            )
        coercers = {name: type_.params[name] for name in type_.updatable if name in type_.params}
        if "status" in type_.updatable:  # updates may also archive or delete
            coercers["status"] = _choice(CREATIVE_STATUSES if type_.name == "adcreative" else STATUSES)
        changes = self._coerce(type_.node, call.params, coercers)
        if changes.get("status") == "DELETED":
            return self.delete_object(obj, type_)  # research 2.5: status=DELETED is a delete
        if type_.name == "advideo" and "name" in changes:
            changes.setdefault("title", changes.pop("name"))
        options = changes.pop("execution_options", None) or []
        self._validate(type_, {**obj.fields, **changes})
        if "validate_only" not in options:
            self.store.update(NAME, type_.name, obj.id, {**changes, "updated_time": _now()})
        return JSONResponse({"success": True})

    def delete_object(self, obj: StoredObject, type_: _Type) -> Response:
        # Deleting what is already deleted succeeds again (UNCONFIRMED; it is idempotent here).
        if not obj.deleted:
            self.store.delete(NAME, type_.name, obj.id)
            for child_type, key in CHILDREN.get(type_.name, ()):
                for child in self.store.find(NAME, child_type, **{key: obj.id}):
                    self.store.delete(NAME, child_type, child.id)
        return JSONResponse({"success": True})

    def list_objects(self, account: StoredObject, type_: _Type, call: _Call) -> Response:
        """An account edge, newest first (Graph's order, UNCONFIRMED); deleted objects only when
        filtered for (effective_status DELETED); videos are gone once deleted."""
        filters = self._filters(call.params)
        if "title" in call.params:  # the advideos edge filters by title (FB-SDK get_ad_videos)
            filters.append({"field": "title", "operator": "EQUAL", "value": call.params["title"]})
        statuses = {v for f in filters if f["field"] == "effective_status" for v in self._filter_values(f)}
        wants_deleted = type_.name != "advideo" and "DELETED" in statuses
        for item in filters:
            self._check_filter(type_, item)
        fields = call.fields(type_.default_fields)
        rows = []
        for obj in reversed(self.store.find(NAME, type_.name, include_deleted=wants_deleted, account_id=account.id)):
            values = self._readable(obj, type_)
            # Archived objects are left out of edge reads unless filtered for (research next-capabilities 1.3).
            if values.get("effective_status") == "ARCHIVED" and "ARCHIVED" not in statuses:
                continue
            if all(self._matches(values, f) for f in filters):
                rows.append((obj.id, self._render(obj, type_, fields)))
        return self._page(call, rows)

    def _check_filter(self, type_: _Type, item: dict[str, Any]) -> None:
        """A filter on a field the node does not have, or IN without a list, is refused (code 100)."""
        name = str(item["field"])
        readable = VIDEO_FIELDS if type_.name == "advideo" else {"id", *type_.params, *type_.computed} - WRITE_ONLY
        # "campaign.id" / "adset.id" filter on the parent's id (FB docs' filtering examples).
        if name not in readable and name.replace(".", "_") not in readable:
            raise _param_error(f"Filtering field '{name}' is invalid for {type_.node}")
        if item["operator"] in ("IN", "NOT_IN") and not isinstance(item["value"], list):
            raise _param_error(f"Filtering operator {item['operator']} on '{name}' needs an array value")

    def _filters(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        filters = []
        raw = params.get("filtering")
        if raw is not None:
            try:
                filters = _list(raw)
            except _Bad:
                raise _param_error("param filtering must be a JSON array") from None
            for item in filters:
                if not (isinstance(item, dict) and {"field", "operator", "value"} <= item.keys()):
                    raise _param_error("Filtering entries need field, operator and value")
        if "effective_status" in params:
            try:
                statuses = _list(params["effective_status"])
            except _Bad:
                raise _param_error("param effective_status must be a JSON array") from None
            filters.append({"field": "effective_status", "operator": "IN", "value": statuses})
        return filters

    @staticmethod
    def _filter_values(item: dict[str, Any]) -> list[Any]:
        value = item["value"]
        return value if isinstance(value, list) else [value]

    def _matches(self, values: dict[str, Any], item: dict[str, Any]) -> bool:
        name = str(item["field"]).replace(".", "_")  # "campaign.id" filters on campaign_id
        actual = values.get(name)
        actual = str(actual) if isinstance(actual, int) else actual
        operator, expected = item["operator"], item["value"]
        if operator == "EQUAL":
            return actual == expected
        if operator == "NOT_EQUAL":
            return actual != expected
        if operator in ("IN", "NOT_IN"):
            return (actual in self._filter_values(item)) == (operator == "IN")
        if operator in ("CONTAIN", "NOT_CONTAIN"):
            found = isinstance(actual, str) and str(expected).lower() in actual.lower()
            return found == (operator == "CONTAIN")
        raise _param_error(f"Filtering operator {operator} is not supported in the sandbox")

    def _page(self, call: _Call, rows: list[tuple[str, dict[str, Any]]]) -> Response:
        """Cursor pagination over (object id, row) pairs: `limit`, `after` or `before`; a `next` link only
        when more follow, a `previous` one only when some come before."""
        raw = str(call.params.get("limit", DEFAULT_LIMIT)).strip()
        if not raw.isdigit() or int(raw) < 1:  # Graph's answer to limit=0 is not documented (UNCONFIRMED)
            raise _param_error("param limit must be a positive integer")
        # Over the edge's maximum, Graph answers a shorter page with correct paging links (see MAX_LIMIT).
        limit = min(MAX_LIMIT, int(raw))
        if call.params.get("after") and call.params.get("before"):
            raise _param_error("Only one of the params after and before can be given")
        start, end = 0, limit
        if call.params.get("after"):
            # A cursor dies with its item (graph-api/results): the list then ends here.
            after = _uncursor(str(call.params["after"]))
            start = next((i + 1 for i, (id_, _) in enumerate(rows) if id_ == after), len(rows))
            end = start + limit
        elif call.params.get("before"):
            before = _uncursor(str(call.params["before"]))
            end = next((i for i, (id_, _) in enumerate(rows) if id_ == before), 0)
            start = max(0, end - limit)
        page = rows[start:end]
        body: dict[str, Any] = {"data": [row for _, row in page]}
        if page:
            cursors = {"before": _cursor(page[0][0]), "after": _cursor(page[-1][0])}
            body["paging"] = {"cursors": cursors}
            # Like Graph, the links repeat the query as sent (an access_token in it included).
            url = call.request.url.remove_query_params(["after", "before"])
            if start > 0:
                body["paging"]["previous"] = str(url.include_query_params(before=cursors["before"]))
            if end < len(rows):
                body["paging"]["next"] = str(url.include_query_params(after=cursors["after"]))
        return JSONResponse(body)

    # --- validation of whole objects (on create, and merged on update) ---

    def _validate(self, type_: _Type, fields: dict[str, Any]) -> None:
        account = fields["account_id"]
        if type_.name in ("campaign", "adset"):
            self._check_budget(type_, fields)
        budgeted = any(k in fields for k in ("daily_budget", "lifetime_budget"))
        if type_.name == "campaign" and not budgeted and "is_adset_budget_sharing_enabled" not in fields:
            # Since v24 a campaign without a campaign budget must say whether its ad sets share their
            # budgets (public clients quote it; the subcode is UNCONFIRMED).
            raise _invalid(
                "Budget sharing required",
                "A campaign without a campaign budget needs is_adset_budget_sharing_enabled (true or false).",
            )
        if type_.name == "adset":
            campaign = self._parent("campaign", fields["campaign_id"], account, "campaign_id")
            if any(k in campaign.fields for k in ("daily_budget", "lifetime_budget")):
                if any(k in fields for k in ("daily_budget", "lifetime_budget")):
                    raise _invalid(
                        "Budget set on campaign",
                        "The campaign has a budget (campaign budget optimisation): its ad sets cannot have one.",
                    )
            elif not any(k in fields for k in ("daily_budget", "lifetime_budget")):
                raise _invalid(
                    "Missing budget", "Set daily_budget or lifetime_budget on the ad set or on its campaign."
                )
            strategy = fields.get("bid_strategy") or campaign.fields.get("bid_strategy")
            if strategy in BID_AMOUNT_STRATEGIES and "bid_amount" not in fields:
                raise _invalid("Bid amount required", f"bid_strategy {strategy} needs a bid_amount.")
            _check_targeting(fields["targeting"])
            _check_promoted_object(str(campaign.fields.get("objective")), fields)
        elif type_.name == "adcreative":
            self._check_creative(fields, account)
        elif type_.name == "ad":
            self._parent("adset", fields["adset_id"], account, "adset_id")
            self._parent("adcreative", fields["creative"]["creative_id"], account, "creative.creative_id")

    @staticmethod
    def _check_budget(type_: _Type, fields: dict[str, Any]) -> None:
        end_key = "stop_time" if type_.name == "campaign" else "end_time"
        if "daily_budget" in fields and "lifetime_budget" in fields:
            raise _invalid("Too many budgets", "Set either daily_budget or lifetime_budget, not both.")
        for name in ("daily_budget", "lifetime_budget"):
            if fields.get(name) == 0:
                raise _invalid("Budget too low", f"{name} must be greater than 0.")
        if "lifetime_budget" in fields and fields.get(end_key) is None:
            raise _invalid("End time required", f"A lifetime_budget needs {end_key}.")
        start, end = fields.get("start_time"), fields.get(end_key)
        if start and end and end <= start:  # both in the same +0000 form: they compare as strings
            raise _invalid("Invalid schedule", f"{end_key} must be after start_time.")

    def _check_creative(self, fields: dict[str, Any], account: str) -> None:
        spec = fields.get("object_story_spec")
        if spec is None:
            if not any(k in fields for k in ("asset_feed_spec", "object_story_id")):
                raise _param_error("The parameter object_story_spec is required")
            return
        _check_keys("object_story_spec", spec, STORY_SPEC_KEYS)
        if not spec.get("page_id"):
            raise _invalid("Page required", "object_story_spec.page_id is required.")
        kinds = [k for k in STORY_KINDS if k in spec]
        if len(kinds) != 1:
            raise _invalid(
                "Invalid object story spec", f"object_story_spec needs exactly one of {', '.join(STORY_KINDS)}."
            )
        data = spec[kinds[0]]
        if not isinstance(data, dict):
            raise _invalid("Invalid object story spec", f"object_story_spec.{kinds[0]} must be an object.")
        where = f"object_story_spec.{kinds[0]}"
        if kinds[0] in NESTED_KEYS:
            _check_keys(f"object_story_spec[{kinds[0]}]", data, NESTED_KEYS[kinds[0]])
        if kinds[0] == "link_data" and not data.get("link"):
            raise _invalid("Link required", f"{where}.link is required.")
        if data.get("image_hash") is not None:
            key = f"{account}:{data['image_hash']}"
            if self.store.get(NAME, "adimage", key) is None:
                raise _invalid(
                    "Invalid image hash", f"{where}.image_hash {data['image_hash']} is not an image of act_{account}."
                )
        if kinds[0] == "video_data":
            video = self.store.get(NAME, "advideo", str(data.get("video_id")))
            if video is None or video.fields["account_id"] != account:
                raise _invalid(
                    "Invalid video", f"{where}.video_id {data.get('video_id')} is not a video of act_{account}."
                )
            if _video_status(video)["video_status"] != "ready":
                # A creative of a video still processing fails (fidelity audit row 16; the code is UNCONFIRMED).
                raise _invalid("Video not ready", f"{where}.video_id {video.id} is still processing; try again later.")
            if not data.get("image_hash") and not data.get("image_url"):
                raise GraphError(
                    "Invalid parameter",
                    100,
                    subcode=THUMBNAIL_SUBCODE,
                    title="Missing thumbnail",
                    user_msg="Please specify one of image_hash or image_url in the video_data field.",
                )
        action = data.get("call_to_action")
        if action is not None and (not isinstance(action, dict) or action.get("type") not in CALL_TO_ACTION_TYPES):
            got = action.get("type") if isinstance(action, dict) else action
            raise _invalid(
                "Invalid call to action",
                f"{where}.call_to_action.type {got!r} is not one of Meta's call to action types.",
            )

    # --- images: content-addressed by the md5 of their bytes ---

    def upload_images(self, account: StoredObject, call: _Call) -> Response:
        self._check_not_rejected("adimage")
        uploads: list[tuple[str, bytes]] = []
        if call.params.get("bytes"):
            try:
                data = base64.b64decode("".join(str(call.params["bytes"]).split()), validate=True)
            except (binascii.Error, ValueError):
                raise _param_error("param bytes must be base64-encoded") from None
            # With `bytes` the answer is keyed "bytes"; a `name` param naming it is UNCONFIRMED.
            uploads.append((str(call.params.get("name") or "bytes"), data))
        uploads += [(filename, data) for filename, data in call.files.values()]
        if not uploads:
            raise _param_error("The parameter bytes or an image file is required")
        images = {}
        for name, data in uploads:
            if not data.startswith(IMAGE_MAGIC) and not (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
                raise _invalid("Image format not supported", f"{name} is not a JPG, PNG, GIF, BMP, TIFF or WebP image.")
            images[name] = self._store_image(account.id, name, data)
        return JSONResponse({"images": images})

    def _store_image(self, account: str, name: str, data: bytes) -> dict[str, str]:
        digest = hashlib.md5(data).hexdigest()  # noqa: S324 - Meta's image hash, not a security use
        key = f"{account}:{digest}"
        url = media.url(self._origin, "adimage", key)
        # Same bytes, same hash: a second upload finds the image already there and keeps its
        # first name (cross-upload dedupe is UNCONFIRMED in research 2.5).
        if self.store.get(NAME, "adimage", key) is None:
            now = _now()
            fields = {
                "account_id": account,
                "hash": digest,
                "name": name,
                "status": "ACTIVE",
                "created_time": now,
                "updated_time": now,
                **media.image_fields(data),
                f"{SANDBOX_ONLY}size": len(data),
                BYTES: base64.b64encode(data).decode("ascii"),
            }
            self.store.put(NAME, "adimage", key, fields)
        return {"hash": digest, "url": url}

    def list_images(self, account: StoredObject, call: _Call) -> Response:
        hashes = None
        if "hashes" in call.params:
            try:
                hashes = [str(h) for h in _list(call.params["hashes"])]
            except _Bad:
                raise _param_error("param hashes must be a JSON array of strings") from None
        found = self.store.find(NAME, "adimage", include_deleted=hashes is not None, account_id=account.id)
        rows = []
        for obj in reversed(found):  # newest first
            if hashes is not None and obj.fields["hash"] not in hashes:
                continue
            if "name" in call.params and obj.fields["name"] != call.params["name"]:
                continue
            values = {k: v for k, v in obj.fields.items() if not k.startswith(SANDBOX_ONLY)}
            values |= {"id": obj.id, "status": "DELETED" if obj.deleted else "ACTIVE"}
            for name in ("created_time", "updated_time"):  # in the account's time zone, as every read
                values[name] = _local_time(str(values[name]), self._zone(account.id))
            values["url"] = media.url(self._origin, "adimage", obj.id)
            row = {}
            for name in call.fields(("hash", "id")):
                if name not in IMAGE_FIELDS:
                    raise self._no_field(name, "AdImage")
                row[name] = values.get(name)
            rows.append((obj.id, row))
        return self._page(call, rows)

    def delete_image(self, account: StoredObject, call: _Call) -> Response:
        digest = call.params.get("hash")
        if not digest:
            raise _param_error("The parameter hash is required")
        obj = self.store.get(NAME, "adimage", f"{account.id}:{digest}", include_deleted=True)
        if obj is None:
            raise _not_found(str(digest))
        if not obj.deleted:
            self.store.delete(NAME, "adimage", obj.id)
        return JSONResponse({"success": True})

    # --- videos ---

    def upload_video(self, account: StoredObject, call: _Call) -> Response:
        values = self._coerce("AdVideo", call.params, TYPES["advideo"].params)
        if "source" not in call.files:
            # file_url and chunked uploads (upload_phase) are not emulated.
            raise _param_error("The parameter source is required (a multipart file)")
        filename, data = call.files["source"]
        if data[4:8] not in VIDEO_BOXES:
            raise _invalid("Video format not supported", f"{filename} is not an MP4 or QuickTime video.")
        now = _now()
        processing = self.sandbox.faults.settings(NAME).video_processing_ms / 1000
        fields = {
            "title": values.get("title") or values.get("name") or filename,
            f"{SANDBOX_ONLY}ready_at": time.time() + processing,  # processing until then (POST /__sandbox__/faults)
            **({"description": values["description"]} if "description" in values else {}),
            "created_time": now,
            "updated_time": now,
            "account_id": account.id,  # not readable on Graph's AdVideo; kept to scope the account's list
            f"{SANDBOX_ONLY}sha256": hashlib.sha256(data).hexdigest(),
            f"{SANDBOX_ONLY}size": len(data),
            BYTES: base64.b64encode(data).decode("ascii"),
        }
        id_ = str(self.store.new_id(NAME, "advideo", TYPES["advideo"].first_id))
        self.store.put(NAME, "advideo", id_, fields)
        return JSONResponse({"id": id_})


# --- accounts, times, usage ---


def provision(
    store: Store, number: str, timezone: str = ACCOUNT_TIMEZONE, currency: str = ACCOUNT_CURRENCY
) -> StoredObject:
    """Make (or change) ad account act_NUMBER: on first use, and for POST /__sandbox__/accounts."""
    existing = store.get(NAME, "adaccount", number)
    fields = {
        "account_id": number,
        "name": f"Sandbox ad account {number}",
        "account_status": 1,  # ACTIVE
        **(existing.fields if existing else {}),
        "currency": currency,
        "timezone_name": timezone,
    }
    return store.put(NAME, "adaccount", number, fields)


def provision_account(store: Store, settings: AccountSettings) -> dict[str, Any]:
    """The Platform hook: `id` is act_<digits> (or the digits alone), as Graph names accounts."""
    number = settings.id.removeprefix("act_")
    if not number.isdigit():
        raise ValueError(f"a Meta ad account id is act_ and digits, not {settings.id!r}")
    with store.transaction():
        account = provision(store, number, settings.timezone, settings.currency)
    return render_account(
        account, ["id", "account_id", "name", "currency", "timezone_name", "timezone_offset_hours_utc"]
    )


def render_account(account: StoredObject, fields: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        if name not in ACCOUNT_FIELDS:
            raise MetaApi._no_field(name, "AdAccount")
        if name == "id":
            out[name] = f"act_{account.id}"
        elif name == "timezone_offset_hours_utc":
            offset = dt.datetime.now(zoneinfo.ZoneInfo(account.fields["timezone_name"])).utcoffset()
            out[name] = (offset or dt.timedelta()).total_seconds() / 3600
        else:
            out[name] = account.fields[name]
    return out


def _local_time(stored: str, zone: str) -> str:
    """A time stored in UTC, as Graph shows it: in the account's zone, with its offset (2026-05-31T17:00:00-0700)."""
    try:
        when = dt.datetime.fromisoformat(stored)
    except ValueError:
        return stored
    return when.astimezone(zoneinfo.ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S%z")


def _video_status(video: StoredObject) -> dict[str, Any]:
    """AdVideo.status: processing until the upload's ready time (the faults' video_processing_ms), then ready."""
    ready_at = float(video.fields.get(f"{SANDBOX_ONLY}ready_at") or 0)
    left = ready_at - time.time()
    if left <= 0:
        return {"video_status": "ready", "processing_progress": 100}
    return {"video_status": "processing", "processing_progress": max(0, min(99, int(100 - left * 10)))}


def account_of(store: Store, path: str) -> str | None:
    """The ad account a Graph call counts against: act_ID in the path, or the account of the object it names."""
    parts = path.split("/")
    node = next((parts[i + 1] for i, part in enumerate(parts[:-1]) if part in {v.strip("/") for v in VERSIONS}), None)
    if node is None:
        return None
    if node.startswith("act_"):
        number = node.removeprefix("act_")
        return number if number.isdigit() else None
    for type_ in TYPES.values():
        obj = store.get(NAME, type_.name, node, include_deleted=True)
        if obj is not None:
            return str(obj.fields.get("account_id") or "") or None
    # An object of no known account (one that does not exist, say): keyed by the object the call named.
    return node if node.isdigit() else None


def usage_headers(
    account: str, used: float | None, regain_minutes: int = 0, reset: float | None = None
) -> dict[str, str]:
    """X-Business-Use-Case-Usage keyed by the ad account id, and X-Ad-Account-Usage (which Graph sends
    unkeyed: it is the account of the call). `used` is the share of the sandbox's rate limit in use (None: no
    limit, 0%). The BUC entry's fields follow the rate-limiting page; `reset_time_duration` is seconds."""
    percent = 0 if used is None else max(0, min(100, round(used * 100)))
    buc = {
        account: [
            {
                "type": "ads_management",
                "call_count": percent,
                "total_cputime": percent,
                "total_time": percent,
                "estimated_time_to_regain_access": regain_minutes,
            }
        ]
    }
    if reset is None:  # the bucket refills at its rate: from `used` of it in use, in `used` seconds
        reset = 0 if used is None else max(0, round(used, 2))
    ad_account = {"acc_id_util_pct": percent, "reset_time_duration": reset, "ads_api_access_tier": "standard_access"}
    return {
        "X-Business-Use-Case-Usage": json.dumps(buc, separators=(",", ":")),
        "X-Ad-Account-Usage": json.dumps(ad_account, separators=(",", ":")),
    }
