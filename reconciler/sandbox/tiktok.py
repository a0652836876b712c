"""Emulation of the TikTok API for Business v1.3 (Marketing API) under /open_api/v1.3.

Built to shared/research/platform-apis.md section 3. Quirks kept on purpose:
every answer is HTTP 200 with the `{"code", "message", "request_id", "data"}`
envelope, errors included (code 0 is success); the token is the `Access-Token`
header; GET parameters holding lists or objects are JSON strings; status
changes go through */status/update/ only, where DELETE is a soft, irreversible
status; campaign and ad group creates are idempotent on `request_id`.
Enums are the official SDK's (yml x-open-enum packages), codes its return-code
table; an ad group's goal must suit its campaign's objective and be billed as
TikTok bills that goal; a library file name is taken once (40911); review
verdicts are `secondary_status` values, their reasons come from /ad/review_info/.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reconciler.media import image_size, video_size
from reconciler.sandbox.context import AccountSettings, Platform, Sandbox
from reconciler.sandbox.store import Store, StoredObject

NAME = "tiktok"
PREFIX = "/tiktok/open_api/v1.3"

# Return codes from the official table (TT-SDK tiktok_business/tiktok_code.py, NumericErrorCodes).
OK = 0
PARTIAL_OK = 20001
PARAM_ERROR = 40002
RATE_LIMITED = 40100
EMPTY_TOKEN = 40104
BAD_TOKEN = 40105
DUPLICATED_MATERIAL_NAME = 40911
SYSTEM_ERROR = 50000
# The messages TikTok's envelope carries with a code the control API's `reject` asks for (the codes are
# the SDK's; the wording is ours, the SDK has none).
REJECT_MESSAGES = {
    PARTIAL_OK: "Partial success",
    40001: "No permission to operate this advertiser",
    40100: "Too many requests. Please retry in some time.",
    40102: "Access token has expired",
    40104: "Access token is empty",
    40105: "Access token is incorrect or has been revoked.",
    40132: "Request frequency limited",
    40202: "Write conflict, please retry",
    DUPLICATED_MATERIAL_NAME: "Duplicated material name",
}

# Numeric ids of about 19 digits, growing per type; distinct ranges make mix-ups visible.
FIRST_IDS = {
    "campaign": 1_800_000_000_000_000_000,
    "adgroup": 1_810_000_000_000_000_000,
    "ad": 1_820_000_000_000_000_000,
}
# Library ids are opaque strings, not numbers (their exact shape is UNCONFIRMED).
MEDIA_IDS = {"image": ("ad-site-i18n-sg/", 202_600_000_000), "video": ("v10033g50000", 700_000_000_000)}
CURRENCY = "USD"  # of an advertiser provisioned on first use
TIMEZONE = "Etc/GMT"  # likewise (how TikTok spells UTC in advertiser/info is UNCONFIRMED)
# UNCONFIRMED: the smallest daily ad group budget (TikTok documents one per currency; 20 USD is the usual figure).
MIN_DAILY_BUDGET = 20.0
MAX_PAGE_SIZE = {"campaign": 1000, "adgroup": 1000, "ad": 1000, "image": 100, "video": 100}
# The `filtering` keys each get/ endpoint supports here (TikTok has more).
FILTERS = {
    "campaign": {"campaign_ids", "campaign_name", "secondary_status"},
    "adgroup": {"campaign_ids", "adgroup_ids", "adgroup_name", "secondary_status"},
    "ad": {"campaign_ids", "adgroup_ids", "ad_ids", "secondary_status"},
}
SANDBOX_ONLY = "sandbox_"  # stored-field prefix for facts the real API would not return
REQUEST_ID_FIELD = f"{SANDBOX_ONLY}request_id"
BYTES_FIELD = f"{SANDBOX_ONLY}bytes"  # an upload's content, base64: served at FILES_PATH, never in API reads
# Where the uploaded bytes are served, without the token, as TikTok's CDN serves `image_url` / `preview_url`.
FILES_PATH = "/__files__"
MEDIA_TYPES = {"image": {"png": "image/png", "jpeg": "image/jpeg"}, "video": {"mp4": "video/mp4"}}
# Ids per `filtering.*_ids` (TT-SDK filtering_{campaign,adgroup,ad}_get.py: 1-100).
MAX_FILTER_IDS = 100
# What `fields` may name on each get/ endpoint here: what the rows hold (TikTok knows more).
ROW_FIELDS = {
    "campaign": {"campaign_id", "advertiser_id", "create_time", "modify_time", "secondary_status"},
    "adgroup": {"adgroup_id", "advertiser_id", "create_time", "modify_time", "secondary_status"},
    "ad": {"ad_id", "advertiser_id", "campaign_id", "adgroup_id", "create_time", "modify_time", "secondary_status"},
}
STATUS_FIELD = "operation_status"


class ApiError(Exception):
    """Raised by a handler to answer with this code and message instead."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _invalid(message: str) -> ApiError:
    return ApiError(PARAM_ERROR, message)


def _envelope(code: int, message: str, data: Any = None, status: int = 200) -> JSONResponse:
    # The envelope's request_id is a log id for the call, unrelated to the request_id sent on creates.
    log_id = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:18].upper()
    body = {"code": code, "message": message, "request_id": log_id, "data": {} if data is None else data}
    return JSONResponse(body, status_code=status)


class TikTokErrors:
    """TikTok's answers to routing errors, rate limits and transient failures: always the envelope."""

    def http_error(self, status: int, message: str) -> Response:
        # UNCONFIRMED: what TikTok answers for an unknown path; we keep the HTTP status and derive a code from it.
        return _envelope(status * 100, message, status=status)

    def rate_limited(self, retry_after: int) -> Response:
        # HTTP 200 and no Retry-After: TikTok signals its QPS limits in the body only (research 3.4, 5.3).
        return _envelope(RATE_LIMITED, "Too many requests. Please retry in some time.")

    def transient_error(self) -> Response:
        # UNCONFIRMED whether TikTok sends system errors with HTTP 500; its envelope style suggests 200.
        return _envelope(SYSTEM_ERROR, "System error")


# --- field coercion: each raises ValueError with the message shown after "field: " ---


def _text(limit: int = 512) -> Callable[[Any], str]:
    def coerce(value: Any) -> str:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be a non-empty string")
        if len(value) > limit:
            raise ValueError(f"must be at most {limit} characters")
        return value

    return coerce


def _choice(*allowed: str) -> Callable[[Any], str]:
    def coerce(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return value

    return coerce


def _choices(*allowed: str) -> Callable[[Any], list[str]]:
    def coerce(value: Any) -> list[str]:
        if not isinstance(value, list) or any(item not in allowed for item in value):
            raise ValueError(f"must be a list of {', '.join(allowed)}")
        return list(value)

    return coerce


def _money(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError("must be a number")
    try:
        number = float(value)
    except ValueError:
        raise ValueError("must be a number") from None
    if not math.isfinite(number) or number <= 0:
        raise ValueError("must be greater than 0")
    return round(number, 2)


def _id(value: Any) -> str:
    """An id: a string of digits (a JSON number is accepted too)."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and value.isdigit():
        return value
    raise ValueError("must be a numeric id string")


def _ids(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str | int) for item in value):
        raise ValueError("must be a list of ids")
    return [str(item) for item in value]


def _time(value: Any) -> str:
    """A time in TikTok's schedule format, "YYYY-MM-DD HH:MM:SS"."""
    try:
        datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    except (TypeError, ValueError):
        raise ValueError("must be a time as YYYY-MM-DD HH:MM:SS") from None
    return value


def _url(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith(("http://", "https://")):
        raise ValueError("must be an http(s) URL")
    return value


@dataclass(frozen=True)
class Field:
    coerce: Callable[[Any], Any]
    required: bool = False
    default: Any = None
    updatable: bool = True  # through */update/; the status only through */status/update/


OPERATION_STATUS = Field(_choice("ENABLE", "DISABLE"), default="ENABLE", updatable=False)
BUDGET_MODES = ("BUDGET_MODE_DAY", "BUDGET_MODE_TOTAL", "BUDGET_MODE_INFINITE", "BUDGET_MODE_DYNAMIC_DAILY_BUDGET")
# Enums of the TT-SDK yml files (x-open-enum packages; tests/test_sandbox_tiktok.py checks them against the
# SDK when it is installed). CampaignObjectiveType without NONE_TYPE, EST_AD and SS_HTC_AD (no campaign
# of ours has them).
OBJECTIVES = (
    "APP_INSTALL", "APP_PROMOTION", "CATALOG_SALES", "CONVERSIONS", "ENGAGEMENT", "LEAD_GENERATION",
    "PRODUCT_SALES", "REACH", "RF_APP_INSTALL", "RF_ENGAGEMENT", "RF_REACH", "RF_TRAFFIC", "RF_VIDEO_VIEW",
    "TOPVIEW_REACH", "TRAFFIC", "VIDEO_VIEWS", "WEB_CONVERSIONS",
)  # fmt: skip
BILLING_EVENTS = ("CPA", "CPC", "CPM", "CPV", "GD", "OCPM")  # PricingType
# OptimizeGoal as the create enum spells it (POST_ENGAGEMNT and ENGAGED_VIEW_FIFTEEM are TikTok's typos),
# plus ENGAGED_VIEW_FIFTEEN, the spelling of the filter enum and of TikTok's docs.
OPTIMIZATION_GOALS = (
    "ANCHOR_CLICK", "ANCHOR_CLICK_PURCHASE", "AUTOMATED_VALUE", "CLICK", "CONVERSATION", "CONVERSION_LEADS",
    "CONVERT", "DESTINATION_VISIT", "ENGAGED_VIEW", "ENGAGED_VIEW_FIFTEEM", "ENGAGED_VIEW_FIFTEEN", "FOLLOWERS",
    "INSTALL", "IN_APP_EVENT", "LEAD_GENERATION", "MESSAGE", "MT_LIVE_FOLLOW", "MT_LIVE_ROOM", "MT_LIVE_SHOPPING",
    "PAGE_VISIT", "POST_ENGAGEMNT", "PREFERRED_LEAD", "PRODUCT_CLICK_IN_LIVE", "PROFILE_VIEWS", "REACH", "SHOW",
    "TRAFFIC_LANDING_PAGE_VIEW", "VALUE", "VIDEO_VIEW",
)  # fmt: skip
# The billing event each goal takes and the goals each objective offers: TikTok's ad group create doc
# (doc 1739499616346114) as public clients quote it; the SDK has no pairing table (UNCONFIRMED beyond that).
GOAL_BILLING_EVENTS = {
    "CLICK": "CPC", "PAGE_VISIT": "CPC", "CONVERT": "OCPM", "INSTALL": "OCPM", "IN_APP_EVENT": "OCPM",
    "TRAFFIC_LANDING_PAGE_VIEW": "OCPM", "LEAD_GENERATION": "OCPM", "CONVERSATION": "OCPM", "FOLLOWERS": "OCPM",
    "VALUE": "OCPM", "DESTINATION_VISIT": "OCPM", "SHOW": "CPM", "REACH": "CPM", "ENGAGED_VIEW": "CPV",
    "ENGAGED_VIEW_FIFTEEN": "CPV",
}  # fmt: skip
OBJECTIVE_GOALS = {
    "REACH": ("REACH",),
    "TRAFFIC": ("CLICK", "TRAFFIC_LANDING_PAGE_VIEW"),
    "VIDEO_VIEWS": ("ENGAGED_VIEW", "ENGAGED_VIEW_FIFTEEN"),
    "ENGAGEMENT": ("FOLLOWERS", "PAGE_VISIT"),
    "WEB_CONVERSIONS": ("CONVERT", "VALUE"),
    "LEAD_GENERATION": ("LEAD_GENERATION",),
    "APP_PROMOTION": ("INSTALL", "IN_APP_EVENT", "VALUE"),
}
# What a website CONVERT ad group may optimise for: PixelEventType (without the deprecated keys).
PIXEL_EVENTS = (
    "ADD_BILLING", "BUTTON", "CONSULT", "DOWNLOAD_START", "FORM", "INITIATE_ORDER", "ON_WEB_ADD_TO_WISHLIST",
    "ON_WEB_CART", "ON_WEB_DETAIL", "ON_WEB_ORDER", "ON_WEB_REGISTER", "ON_WEB_SEARCH", "ON_WEB_SUBSCRIBE",
    "PAGE_VIEW", "SHOPPING", "VIEW",
)  # fmt: skip
AGE_GROUPS = ("AGE_13_17", "AGE_18_24", "AGE_25_34", "AGE_35_44", "AGE_45_54", "AGE_55_100")
CALLS_TO_ACTION = (
    "APPLY_NOW", "BOOK_NOW", "CALL_NOW", "CHECK_AVAILABILITY", "CONTACT_US", "DOWNLOAD_NOW", "EXPERIENCE_NOW",
    "GET_QUOTE", "GET_SHOWTIMES", "GET_TICKETS_NOW", "INSTALL_NOW", "INTERESTED", "JOIN_THIS_HASHTAG",
    "LEARN_MORE", "LISTEN_NOW", "ORDER_NOW", "PLAY_GAME", "PREORDER_NOW", "READ_MORE", "SEND_MESSAGE",
    "SHOOT_WITH_THIS_EFFECT", "SHOP_NOW", "SIGN_UP", "SUBSCRIBE", "VIEW_NOW", "VIEW_PROFILE",
    "VIEW_VIDEO_WITH_THIS_EFFECT", "VISIT_STORE", "WATCH_LIVE", "WATCH_NOW",
)  # fmt: skip  CallToAction

# Writable fields per type (research 3.2, 3.3, 3.5); immutable ones have updatable=False.
# UNCONFIRMED: unknown fields are refused (marshmallow's "Unknown field."), which also catches a
# client sending its own bookkeeping; the real API may ignore them.
SCHEMAS: dict[str, dict[str, Field]] = {
    "campaign": {
        "campaign_name": Field(_text(), required=True),
        "objective_type": Field(_choice(*OBJECTIVES), required=True, updatable=False),
        "budget_mode": Field(_choice(*BUDGET_MODES), required=True, updatable=False),
        "budget": Field(_money),
        "operation_status": OPERATION_STATUS,
        "campaign_type": Field(
            _choice("REGULAR_CAMPAIGN", "IOS14_CAMPAIGN"), default="REGULAR_CAMPAIGN", updatable=False
        ),
        "special_industries": Field(_choices("HOUSING", "EMPLOYMENT", "CREDIT"), default=[]),
        "po_number": Field(_text()),
    },
    "adgroup": {
        "campaign_id": Field(_id, required=True, updatable=False),
        "adgroup_name": Field(_text(), required=True),
        "placement_type": Field(
            _choice("PLACEMENT_TYPE_AUTOMATIC", "PLACEMENT_TYPE_NORMAL"),
            default="PLACEMENT_TYPE_AUTOMATIC",
            updatable=False,
        ),
        "placements": Field(
            _choices("PLACEMENT_TIKTOK", "PLACEMENT_PANGLE", "PLACEMENT_GLOBAL_APP_BUNDLE"), updatable=False
        ),
        "promotion_type": Field(_choice("WEBSITE", "APP_ANDROID", "APP_IOS"), default="WEBSITE", updatable=False),
        "budget_mode": Field(_choice(*BUDGET_MODES), required=True, updatable=False),
        "budget": Field(_money),
        "billing_event": Field(_choice(*BILLING_EVENTS), required=True, updatable=False),
        "optimization_goal": Field(_choice(*OPTIMIZATION_GOALS), required=True, updatable=False),
        # Not in AdgroupUpdateBody: fixed at create.
        "pixel_id": Field(_id, updatable=False),
        "optimization_event": Field(_choice(*PIXEL_EVENTS), updatable=False),
        "bid_type": Field(_choice("BID_TYPE_NO_BID", "BID_TYPE_CUSTOM"), default="BID_TYPE_NO_BID"),
        "bid_price": Field(_money),
        "pacing": Field(_choice("PACING_MODE_SMOOTH", "PACING_MODE_FAST"), required=True),
        "schedule_type": Field(_choice("SCHEDULE_START_END", "SCHEDULE_FROM_NOW"), required=True),
        "schedule_start_time": Field(_time, required=True),
        "schedule_end_time": Field(_time),
        "location_ids": Field(_ids, default=[]),
        "age_groups": Field(_choices(*AGE_GROUPS), default=[]),
        "gender": Field(_choice("GENDER_UNLIMITED", "GENDER_MALE", "GENDER_FEMALE"), default="GENDER_UNLIMITED"),
        "languages": Field(_ids, default=[]),
        "operation_status": OPERATION_STATUS,
    },
    # One entry of `creatives` (ad/create/, ad/update/).
    "ad": {
        "ad_name": Field(_text(), required=True),
        "ad_format": Field(_choice("SINGLE_IMAGE", "SINGLE_VIDEO"), required=True, updatable=False),
        "ad_text": Field(_text(100), required=True),
        "image_ids": Field(_ids, default=[]),
        "video_id": Field(_text()),
        "identity_id": Field(_text()),
        "identity_type": Field(_choice("CUSTOMIZED_USER", "AUTH_CODE", "TT_USER", "BC_AUTH_TT")),
        "call_to_action": Field(_choice(*CALLS_TO_ACTION), required=True),
        "landing_page_url": Field(_url, required=True),
        "display_name": Field(_text(40)),
        "operation_status": OPERATION_STATUS,
    },
}


def _created(type_: str, params: dict[str, Any]) -> dict[str, Any]:
    """Every field of a new object: the ones sent, checked, and the defaults."""
    schema = SCHEMAS[type_]
    _check_known(schema, params)
    values: dict[str, Any] = {}
    for name, spec in schema.items():
        if params.get(name) is None:
            if spec.required:
                raise _invalid(f"{name}: Missing data for required field.")
            values[name] = copy.deepcopy(spec.default)
            continue
        values[name] = _coerced(name, spec, params[name])
    return values


def _changes(type_: str, params: dict[str, Any], current: dict[str, Any], status_path: str) -> dict[str, Any]:
    """The fields an update sends; an immutable field may only repeat its current value."""
    schema = SCHEMAS[type_]
    _check_known(schema, params)
    changes: dict[str, Any] = {}
    for name, value in params.items():
        if name == STATUS_FIELD:
            raise _invalid(f"{name}: cannot be updated here; use {status_path}")
        value = _coerced(name, schema[name], value)
        if not schema[name].updatable and value != current.get(name):
            raise _invalid(f"{name}: cannot be changed after creation")
        changes[name] = value
    return changes


def _check_known(schema: dict[str, Field], params: dict[str, Any]) -> None:
    unknown = sorted(set(params) - set(schema))
    if unknown:
        raise _invalid(f"{unknown[0]}: Unknown field.")


def _coerced(name: str, spec: Field, value: Any) -> Any:
    try:
        return spec.coerce(value)
    except ValueError as exc:
        raise _invalid(f"{name}: {exc}") from None


def _check_budget(type_: str, fields: dict[str, Any]) -> None:
    mode, budget = fields.get("budget_mode"), fields.get("budget")
    if mode == "BUDGET_MODE_INFINITE":
        if budget is not None:
            raise _invalid("budget: must not be set when budget_mode is BUDGET_MODE_INFINITE")
    elif budget is None:
        raise _invalid(f"budget: Missing data for required field (budget_mode is {mode}).")
    elif type_ == "adgroup" and mode == "BUDGET_MODE_DAY" and budget < MIN_DAILY_BUDGET:
        raise _invalid(f"budget: the daily budget must be at least {MIN_DAILY_BUDGET:.2f} {CURRENCY}")


def _check_schedule(fields: dict[str, Any]) -> None:
    if fields.get("schedule_type") != "SCHEDULE_START_END":
        # A total (lifetime) budget is spent over a flight: it needs an end (UNCONFIRMED as an API
        # rule; Ads Manager offers only "set start and end time" with a lifetime budget).
        if fields.get("budget_mode") == "BUDGET_MODE_TOTAL":
            raise _invalid("schedule_type: must be SCHEDULE_START_END when budget_mode is BUDGET_MODE_TOTAL")
        return
    end = fields.get("schedule_end_time")
    if end is None:
        raise _invalid("schedule_end_time: Missing data for required field (schedule_type is SCHEDULE_START_END).")
    if end <= fields["schedule_start_time"]:  # same format: compares as text
        raise _invalid("schedule_end_time: must be later than schedule_start_time")


def _check_optimization(objective: str, fields: dict[str, Any]) -> None:
    """The goal must be one the campaign's objective offers, billed as TikTok bills that goal; a website
    CONVERT ad group names its pixel and the event it optimises for (TT-SDK AdgroupCreateBody)."""
    goal, billing = fields["optimization_goal"], fields["billing_event"]
    offered = OBJECTIVE_GOALS.get(objective)
    if offered is not None and goal not in offered:
        raise _invalid(
            f"optimization_goal: {goal} is not available for objective_type {objective} (use {', '.join(offered)})"
        )
    wanted = GOAL_BILLING_EVENTS.get(goal)
    if wanted is not None and billing != wanted:
        raise _invalid(f"billing_event: optimization_goal {goal} is billed as {wanted}, not {billing}")
    if goal == "CONVERT":
        for name in ("pixel_id", "optimization_event"):
            if fields.get(name) is None:
                raise _invalid(f"{name}: Missing data for required field (optimization_goal is CONVERT).")


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _view(obj: StoredObject) -> dict[str, Any]:
    return {k: v for k, v in obj.fields.items() if not k.startswith(SANDBOX_ONLY)}


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes


async def _params(request: Request) -> dict[str, Any]:
    """Query parameters for GET; the JSON body or the multipart form (uploads) for POST."""
    if request.method in ("GET", "HEAD"):
        return dict(request.query_params)
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        params: dict[str, Any] = {}
        async with request.form() as form:
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    params[key] = Upload(value.filename or "", await value.read())
                else:
                    params[key] = value
        return params
    if content_type != "application/json":
        raise _invalid("Content-Type must be application/json")
    try:
        body = json.loads(await request.body())
    except ValueError:
        raise _invalid("the request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise _invalid("the request body must be a JSON object")
    return body


def _json_param(params: dict[str, Any], key: str, default: Any = None) -> Any:
    """A GET parameter holding JSON (a list, an object); JSON bodies carry the value itself."""
    value = params.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise _invalid(f"{key}: not valid JSON") from None


def _id_list(params: dict[str, Any], key: str, limit: int = 100) -> list[str]:
    value = _json_param(params, key)
    if value is None:
        raise _invalid(f"{key}: Missing data for required field.")
    ids = _coerced(key, Field(_ids), value)
    if not 1 <= len(ids) <= limit:
        raise _invalid(f"{key}: must hold 1 to {limit} ids")
    return ids


def _page(rows: list[dict[str, Any]], params: dict[str, Any], max_size: int, default_size: int) -> dict[str, Any]:
    try:
        page = int(params.get("page", 1))
        size = int(params.get("page_size", default_size))
    except (TypeError, ValueError):
        raise _invalid("page, page_size: must be integers") from None
    if page < 1 or not 1 <= size <= max_size:
        raise _invalid(f"page_size: must be between 1 and {max_size} (page >= 1)")
    total = len(rows)
    return {
        "list": rows[(page - 1) * size : page * size],
        "page_info": {"page": page, "page_size": size, "total_number": total, "total_page": math.ceil(total / size)},
    }


Handler = Callable[[dict[str, Any]], Any]


class TikTokApi:
    """The route handlers. Each runs under the store's lock, so check-then-write is atomic."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.store = sandbox.store
        self.origin = ""  # scheme://host:port of the request being handled

    def routes(self) -> list[BaseRoute]:
        table: dict[tuple[str, str], Handler] = {
            ("GET", "/advertiser/info/"): self.advertiser_info,
            ("POST", "/file/image/ad/upload/"): lambda p: self.upload(p, "image"),
            ("POST", "/file/video/ad/upload/"): lambda p: self.upload(p, "video"),
            ("GET", "/file/image/ad/info/"): lambda p: self.media_info(p, "image"),
            ("GET", "/file/video/ad/info/"): lambda p: self.media_info(p, "video"),
            ("GET", "/file/image/ad/search/"): lambda p: self.media_search(p, "image"),
            ("GET", "/file/video/ad/search/"): lambda p: self.media_search(p, "video"),
            # research 3.2 lists no library delete; the official SDK has this one (yml_files/creative_asset_delete.yml).
            ("POST", "/creative/asset/delete/"): self.delete_media,
            ("POST", "/ad/create/"): self.create_ads,
            ("POST", "/ad/update/"): self.update_ads,
            ("GET", "/ad/review_info/"): self.review_info,
        }
        for type_ in ("campaign", "adgroup"):
            table[("POST", f"/{type_}/create/")] = lambda p, t=type_: self.create(p, t)
            table[("POST", f"/{type_}/update/")] = lambda p, t=type_: self.update(p, t)
        for type_ in ("campaign", "adgroup", "ad"):
            table[("POST", f"/{type_}/status/update/")] = lambda p, t=type_: self.update_status(p, t)
            table[("GET", f"/{type_}/get/")] = lambda p, t=type_: self.get(p, t)
        routes: list[BaseRoute] = [
            Route(path, self._endpoint(handler), methods=[method]) for (method, path), handler in table.items()
        ]
        routes.append(Route(FILES_PATH + "/{type_}/{id_:path}", self.file, methods=["GET"]))
        return routes

    async def file(self, request: Request) -> Response:
        """An upload's bytes, as the CDN behind `image_url` / `preview_url` serves them: no token needed."""
        type_, id_ = request.path_params["type_"], request.path_params["id_"]
        obj = self.store.get(NAME, type_, id_) if type_ in MEDIA_TYPES else None
        if obj is None or BYTES_FIELD not in obj.fields:
            return Response(b"Not Found", status_code=404, media_type="text/plain")
        media_type = MEDIA_TYPES[type_].get(obj.fields.get("format", ""), "application/octet-stream")
        return Response(base64.b64decode(obj.fields[BYTES_FIELD]), media_type=media_type)

    def _endpoint(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        """Check the token, read params, run the handler under the store lock, wrap the envelope."""

        async def endpoint(request: Request) -> Response:
            token = request.headers.get("Access-Token")
            if not token:
                return _envelope(EMPTY_TOKEN, REJECT_MESSAGES[EMPTY_TOKEN])
            if not self.sandbox.auth.accepts(NAME, token):
                return _envelope(BAD_TOKEN, REJECT_MESSAGES[BAD_TOKEN])
            try:
                params = await _params(request)
                with self.store.transaction():
                    # Media rows carry absolute URLs on this server; handlers run one at a time under the lock.
                    self.origin = f"{request.url.scheme}://{request.url.netloc}"
                    data = handler(params)
            except ApiError as exc:
                return _envelope(exc.code, exc.message)
            return _envelope(OK, "OK", data)

        return endpoint

    # --- advertisers: provisioned on first use ---

    def _advertiser(self, params: dict[str, Any]) -> str:
        value = params.get("advertiser_id")
        if value is None:
            raise _invalid("advertiser_id: Missing data for required field.")
        return self._provision(_coerced("advertiser_id", Field(_id), value))

    def _provision(self, advertiser_id: str) -> str:
        provision(self.store, advertiser_id)
        return advertiser_id

    def advertiser_info(self, params: dict[str, Any]) -> dict[str, Any]:
        ids = [self._provision(_coerced("advertiser_ids", Field(_id), i)) for i in _id_list(params, "advertiser_ids")]
        return {"list": [_view(self.store.get(NAME, "advertiser", i)) for i in ids]}  # type: ignore[arg-type]

    # --- lookups ---

    def _owned(self, type_: str, id_: Any, advertiser: str, key: str, *, include_deleted: bool = False) -> StoredObject:
        """The advertiser's object named by parameter `key`; a 40002 naming `key` otherwise."""
        if id_ is None:
            raise _invalid(f"{key}: Missing data for required field.")
        obj = self.store.get(NAME, type_, str(id_), include_deleted=include_deleted)
        if obj is None or obj.fields["advertiser_id"] != advertiser:
            raise _invalid(f"{key}: {type_} {id_} does not exist")
        return obj

    def _check_not_rejected(self, type_: str) -> None:
        """The control API's `reject`: creates of the type fail, with 40002 or the `code` it names."""
        if self.sandbox.faults.rejects(NAME, type_):
            message = f"{type_} creation was rejected (sandbox fault injection)"
            code = self.sandbox.faults.reject_code(NAME, type_)
            if code is None:
                raise _invalid(message)
            raise ApiError(code, f"{REJECT_MESSAGES.get(code, 'Rejected')}: {message}")

    def _create(
        self, type_: str, advertiser: str, fields: dict[str, Any], request_id: str | None = None
    ) -> StoredObject:
        if type_ in MEDIA_IDS:
            prefix, start = MEDIA_IDS[type_]
            id_ = f"{prefix}{self.store.new_id(NAME, type_, start)}"
        else:
            id_ = str(self.store.new_id(NAME, type_, FIRST_IDS[type_]))
        now = _now()
        stored = {"advertiser_id": advertiser, f"{type_}_id": id_, **fields, "create_time": now, "modify_time": now}
        if request_id is not None:
            stored[REQUEST_ID_FIELD] = request_id
        return self.store.put(NAME, type_, id_, stored)

    # --- views: the stored fields plus what TikTok computes ---

    def _row(self, type_: str, obj: StoredObject) -> dict[str, Any]:
        row = _view(obj)
        if type_ == "ad":
            row |= self._ad_review(obj)
        elif type_ in ("campaign", "adgroup"):
            prefix = type_.upper()
            running = "ENABLE" if type_ == "campaign" else "DELIVERY_OK"
            state = "DELETE" if obj.deleted else running if row[STATUS_FIELD] == "ENABLE" else "DISABLE"
            row["secondary_status"] = f"{prefix}_STATUS_{state}"
        return row

    def _ad_review(self, obj: StoredObject) -> dict[str, Any]:
        """The ad's secondary status with its review outcome (sandbox.reviews), looked up at each read.

        Values of the SDK's CreativeStatus enum (smart_plus_ad_get.yml): AD_STATUS_AUDIT in review,
        AD_STATUS_AUDIT_DENY rejected, AD_STATUS_DELIVERY_OK / AD_STATUS_DISABLE once approved. The
        reasons are not on the ad: GET /ad/review_info/ answers them (review_info below).
        """
        review = self.sandbox.reviews.outcome(obj.fields["ad_name"])
        if obj.deleted:
            status = "AD_STATUS_DELETE"
        elif review.status == "rejected":
            status = "AD_STATUS_AUDIT_DENY"
        elif review.status == "pending":
            status = "AD_STATUS_AUDIT"
        else:
            status = "AD_STATUS_DELIVERY_OK" if obj.fields[STATUS_FIELD] == "ENABLE" else "AD_STATUS_DISABLE"
        return {"secondary_status": status}

    def review_info(self, params: dict[str, Any]) -> dict[str, Any]:
        """GET /ad/review_info/: the review verdict and reject reasons of up to 100 ads.

        UNCONFIRMED: the path and the answer's shape. Modelled on the SDK's smart_plus/ad/review_info/
        (advertiser_id + ids as a JSON list) and on the fields public clients read from it (is_approved,
        review_status ALL_AVAILABLE / PART_AVAILABLE / UNAVAILABLE, reject_info[].reasons).
        """
        advertiser = self._advertiser(params)
        ids = _id_list(params, "ad_ids")
        answers: dict[str, Any] = {}
        for id_ in ids:
            obj = self._owned("ad", id_, advertiser, "ad_ids", include_deleted=True)
            review = self.sandbox.reviews.outcome(obj.fields["ad_name"])
            rejected = review.status == "rejected"
            answers[obj.id] = {
                "ad_id": obj.id,
                "is_approved": review.status == "approved",
                "review_status": {"rejected": "UNAVAILABLE", "approved": "ALL_AVAILABLE"}.get(review.status),
                "reject_info": [{"reasons": [review.reason]}] if rejected and review.reason else [],
            }
        return {"ad_review_map": answers}

    # --- campaigns and ad groups ---

    def create(self, params: dict[str, Any], type_: str) -> dict[str, Any]:
        advertiser = self._advertiser(params)
        self._check_not_rejected(type_)
        request_id = self._request_id(params)
        if request_id is not None:
            # UNCONFIRMED: a repeated request_id answers with the object it made (research 3.5:
            # "succeeds at most once"); per advertiser and endpoint, deleted objects included.
            done = self.store.find(
                NAME, type_, include_deleted=True, advertiser_id=advertiser, **{REQUEST_ID_FIELD: request_id}
            )
            if done:
                return self._row(type_, done[0])
        fields = _created(type_, {k: v for k, v in params.items() if k not in ("advertiser_id", "request_id")})
        _check_budget(type_, fields)
        if type_ == "adgroup":
            _check_schedule(fields)
            campaign = self._owned("campaign", fields["campaign_id"], advertiser, "campaign_id")
            _check_optimization(campaign.fields["objective_type"], fields)
        return self._row(type_, self._create(type_, advertiser, fields, request_id))

    @staticmethod
    def _request_id(params: dict[str, Any]) -> str | None:
        """The idempotency key: a 64-bit integer sent as a string."""
        value = params.get("request_id")
        if value is None:
            return None
        if not (isinstance(value, str) and value.isdigit() and int(value) < 2**63):
            raise _invalid("request_id: must be a 64-bit integer sent as a string")
        return value

    def update(self, params: dict[str, Any], type_: str) -> dict[str, Any]:
        advertiser = self._advertiser(params)
        key = f"{type_}_id"
        obj = self._owned(type_, params.get(key), advertiser, key)
        sent = {k: v for k, v in params.items() if k not in ("advertiser_id", key)}
        changes = _changes(type_, sent, obj.fields, f"/{type_}/status/update/")
        merged = {**obj.fields, **changes}
        _check_budget(type_, merged)
        if type_ == "adgroup":
            _check_schedule(merged)
        return self._row(type_, self.store.update(NAME, type_, obj.id, {**changes, "modify_time": _now()}))

    def update_status(self, params: dict[str, Any], type_: str) -> dict[str, Any]:
        advertiser = self._advertiser(params)
        key = f"{type_}_ids"
        ids = _id_list(params, key)
        status = _coerced(STATUS_FIELD, Field(_choice("ENABLE", "DISABLE", "DELETE")), params.get(STATUS_FIELD))
        found = [self._owned(type_, id_, advertiser, key, include_deleted=True) for id_ in ids]
        for obj in found:  # all checked before any change: the call is all or nothing
            if obj.deleted and status != "DELETE":
                raise _invalid(f"{key}: {type_} {obj.id} is deleted; a deletion cannot be undone")
        for obj in found:
            if obj.deleted:
                continue  # deleting again changes nothing
            if status == "DELETE":
                self._delete(type_, obj)
            else:
                self.store.update(NAME, type_, obj.id, {STATUS_FIELD: status, "modify_time": _now()})
        return {key: ids, "status": status}

    def _delete(self, type_: str, obj: StoredObject) -> None:
        """Soft-delete an object and (UNCONFIRMED, as TikTok Ads Manager does) its children."""
        children = {"campaign": ("adgroup", "ad"), "adgroup": ("ad",), "ad": ()}[type_]
        for child_type in children:
            for child in self.store.find(NAME, child_type, **{f"{type_}_id": obj.id}):
                self._delete(child_type, child)
        # A deleted object keeps answering reads with its last status, marked by secondary_status.
        self.store.update(NAME, type_, obj.id, {"modify_time": _now()})
        self.store.delete(NAME, type_, obj.id)

    # --- ads ---

    def create_ads(self, params: dict[str, Any]) -> dict[str, Any]:
        advertiser = self._advertiser(params)
        self._check_not_rejected("ad")
        adgroup = self._owned("adgroup", params.get("adgroup_id"), advertiser, "adgroup_id")
        creatives = self._creatives(params)
        new = []
        for creative in creatives:  # all checked before any is made
            fields = _created("ad", creative)
            self._check_media(advertiser, fields)
            new.append(fields)
        made = [
            self._create(
                "ad", advertiser, {"campaign_id": adgroup.fields["campaign_id"], "adgroup_id": adgroup.id, **f}
            )
            for f in new
        ]
        return {"ad_ids": [obj.id for obj in made], "creatives": [self._row("ad", obj) for obj in made]}

    def update_ads(self, params: dict[str, Any]) -> dict[str, Any]:
        # UNCONFIRMED: fields left out of a creative keep their value; the real endpoint may
        # reset them unless `patch_update` is set, so clients should send the whole creative.
        advertiser = self._advertiser(params)
        adgroup = self._owned("adgroup", params.get("adgroup_id"), advertiser, "adgroup_id")
        updates = []
        for creative in self._creatives(params):
            ad = self._owned("ad", creative.get("ad_id"), advertiser, "creatives.ad_id")
            if ad.fields["adgroup_id"] != adgroup.id:
                raise _invalid(f"creatives.ad_id: ad {ad.id} is not in ad group {adgroup.id}")
            sent = {k: v for k, v in creative.items() if k != "ad_id"}
            changes = _changes("ad", sent, ad.fields, "/ad/status/update/")
            self._check_media(advertiser, {**ad.fields, **changes})
            updates.append((ad.id, changes))
        done = [self.store.update(NAME, "ad", id_, {**changes, "modify_time": _now()}) for id_, changes in updates]
        return {"ad_ids": [obj.id for obj in done], "creatives": [self._row("ad", obj) for obj in done]}

    @staticmethod
    def _creatives(params: dict[str, Any]) -> list[dict[str, Any]]:
        creatives = params.get("creatives")
        if not isinstance(creatives, list) or not creatives or not all(isinstance(c, dict) for c in creatives):
            raise _invalid("creatives: must be a non-empty list of objects")
        if len(creatives) > 20:
            raise _invalid("creatives: at most 20 ads per request")
        return creatives

    def _check_media(self, advertiser: str, fields: dict[str, Any]) -> None:
        """The media an ad shows must be in the advertiser's library."""
        if fields["ad_format"] == "SINGLE_IMAGE" and len(fields["image_ids"]) != 1:
            raise _invalid("image_ids: a SINGLE_IMAGE ad needs exactly one image")
        if fields["ad_format"] == "SINGLE_VIDEO" and not fields["video_id"]:
            raise _invalid("video_id: Missing data for required field (ad_format is SINGLE_VIDEO).")
        for image_id in fields["image_ids"]:
            self._owned("image", image_id, advertiser, "image_ids")
        if fields["video_id"]:
            self._owned("video", fields["video_id"], advertiser, "video_id")

    # --- reads ---

    def get(self, params: dict[str, Any], type_: str) -> dict[str, Any]:
        advertiser = self._advertiser(params)
        filtering = _json_param(params, "filtering", {})
        if not isinstance(filtering, dict):
            raise _invalid("filtering: must be a JSON object")
        unknown = sorted(set(filtering) - FILTERS[type_])
        if unknown:
            raise _invalid(f"filtering.{unknown[0]}: Unknown field.")
        filtering = self._id_filters(filtering)
        rows = [
            self._row(type_, obj)
            for obj in self.store.find(NAME, type_, include_deleted=True, advertiser_id=advertiser)
            if self._matches(obj, filtering)
        ]
        # Deleted objects only when asked for (TikTok's default filter is *_STATUS_NOT_DELETE).
        wanted = filtering.get("secondary_status") or f"{type_.upper()}_STATUS_NOT_DELETE"
        if not isinstance(wanted, str):
            raise _invalid("filtering.secondary_status: must be a string")
        rows = [row for row in rows if _status_matches(row["secondary_status"], wanted)]
        rows.reverse()  # newest first
        fields = self._fields(params, type_)
        page = _page(rows, params, MAX_PAGE_SIZE[type_], 10)
        if fields is not None:
            page["list"] = [{k: row[k] for k in fields if k in row} for row in page["list"]]
        return page

    @staticmethod
    def _fields(params: dict[str, Any], type_: str) -> list[str] | None:
        """`fields`: a JSON list of the row fields to answer with (all when left out)."""
        fields = _json_param(params, "fields")
        if fields is None:
            return None
        if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
            raise _invalid("fields: must be a non-empty list of field names")
        known = ROW_FIELDS[type_] | set(SCHEMAS[type_])
        unknown = sorted(set(fields) - known)
        if unknown:
            raise _invalid(f"fields: {unknown[0]} is not a field of {type_}")
        return fields

    @staticmethod
    def _id_filters(filtering: dict[str, Any]) -> dict[str, Any]:
        """`filtering` with its id lists checked (1 to 100 ids each) and made strings."""
        checked = dict(filtering)
        for key, wanted in filtering.items():
            if key.endswith("_ids"):
                ids = _coerced(f"filtering.{key}", Field(_ids), wanted)
                if not 1 <= len(ids) <= MAX_FILTER_IDS:
                    raise _invalid(f"filtering.{key}: must hold 1 to {MAX_FILTER_IDS} ids")
                checked[key] = ids
        return checked

    @staticmethod
    def _matches(obj: StoredObject, filtering: dict[str, Any]) -> bool:
        for key, wanted in filtering.items():
            if key.endswith("_ids"):
                if str(obj.fields.get(key[:-1])) not in wanted:
                    return False
            elif key.endswith("_name") and str(wanted) not in obj.fields[key]:
                return False  # UNCONFIRMED: name filters are taken as fuzzy (substring) matches
        return True

    # --- the asset library ---

    def upload(self, params: dict[str, Any], type_: str) -> Any:
        advertiser = self._advertiser(params)
        self._check_not_rejected(type_)
        if params.get("upload_type", "UPLOAD_BY_FILE") != "UPLOAD_BY_FILE":
            raise _invalid("upload_type: the sandbox supports UPLOAD_BY_FILE only")
        upload = params.get(f"{type_}_file")
        if not isinstance(upload, Upload) or not upload.content:
            raise _invalid(f"{type_}_file: Missing data for required field.")
        signature = hashlib.md5(upload.content).hexdigest()
        sent = params.get(f"{type_}_signature")
        if not isinstance(sent, str) or sent.lower() != signature:
            raise _invalid(f"{type_}_signature: does not match the MD5 of {type_}_file")
        kind = _media_format(type_, upload.content)
        if kind is None:
            raise _invalid(f"{type_}_file: unsupported format")
        file_name = str(params.get("file_name") or upload.filename)
        # A library's file names are unique (code 40911 in the SDK's table; UNCONFIRMED whether per type, as
        # here, and whether a deleted file frees its name, as here).
        if self.store.find(NAME, type_, advertiser_id=advertiser, file_name=file_name):
            raise ApiError(DUPLICATED_MATERIAL_NAME, f"Duplicated material name: {file_name}")
        # The bytes are kept (base64, sandbox-only) so that `image_url` / `preview_url` can serve them.
        fields = {
            "file_name": file_name,
            "signature": signature,
            "size": len(upload.content),
            "format": kind,
            "displayable": True,
            **_dimensions(type_, upload.content),
            BYTES_FIELD: base64.b64encode(upload.content).decode("ascii"),
        }
        row = self._media_row(type_, self._create(type_, advertiser, fields))
        # UNCONFIRMED: the video upload answers a list (one entry per file), the image upload an object.
        return [row] if type_ == "video" else row

    def media_info(self, params: dict[str, Any], type_: str) -> dict[str, Any]:
        advertiser = self._advertiser(params)
        ids = _id_list(params, f"{type_}_ids", limit=100 if type_ == "image" else 60)
        found = [self.store.get(NAME, type_, id_) for id_ in ids]
        return {
            "list": [
                self._media_row(type_, obj)
                for obj in found
                if obj is not None and obj.fields["advertiser_id"] == advertiser
            ]
        }

    def _media_row(self, type_: str, obj: StoredObject) -> dict[str, Any]:
        """A library file as info/ and search/ show it: its fields and the URL of its bytes.

        TikTok's URLs are signed CDN links that expire (UNCONFIRMED how long); here they stay valid.
        A video's `preview_url` is taken as the file itself (TikTok's may be a transcoded preview).
        """
        url = f"{self.origin}{PREFIX}{FILES_PATH}/{type_}/{obj.id}"
        return {**_view(obj), ("image_url" if type_ == "image" else "preview_url"): url}

    def media_search(self, params: dict[str, Any], type_: str) -> dict[str, Any]:
        advertiser = self._advertiser(params)
        filtering = _json_param(params, "filtering", {})
        key = f"{type_}_ids"
        if not isinstance(filtering, dict) or set(filtering) - {key}:
            raise _invalid(f"filtering: the sandbox supports {key} only")
        filtering = self._id_filters(filtering)
        rows = [
            self._media_row(type_, obj)
            for obj in self.store.find(NAME, type_, advertiser_id=advertiser)
            if self._matches(obj, filtering)
        ]
        rows.reverse()
        return _page(rows, params, MAX_PAGE_SIZE[type_], 20)

    def delete_media(self, params: dict[str, Any]) -> dict[str, Any]:
        advertiser = self._advertiser(params)
        failed: dict[str, list[str]] = {}
        for type_ in ("image", "video"):
            ids = _coerced(f"{type_}_ids", Field(_ids), _json_param(params, f"{type_}_ids", []))
            failed[f"failed_{type_}_ids"] = []
            for id_ in ids:
                obj = self.store.get(NAME, type_, id_)
                if obj is None or obj.fields["advertiser_id"] != advertiser:
                    failed[f"failed_{type_}_ids"].append(id_)  # unknown or already deleted
                else:
                    self.store.delete(NAME, type_, id_)
        return failed


def provision(
    store: Store, advertiser_id: str, timezone: str | None = None, currency: str | None = None
) -> StoredObject:
    """The advertiser `advertiser_id`, made on first use (UTC, USD) or by the control API with its own
    time zone and currency (which then also change an existing one): the one place advertisers are made."""
    obj = store.get(NAME, "advertiser", advertiser_id)
    if obj is None:
        fields = {
            "advertiser_id": advertiser_id,
            "name": f"Sandbox advertiser {advertiser_id}",
            "currency": currency or CURRENCY,
            "status": "STATUS_ENABLE",
            "timezone": timezone or TIMEZONE,
        }
        return store.put(NAME, "advertiser", advertiser_id, fields)
    changes = {k: v for k, v in (("timezone", timezone), ("currency", currency)) if v is not None}
    return store.update(NAME, "advertiser", advertiser_id, changes) if changes else obj


def provision_account(store: Store, account: AccountSettings) -> dict[str, Any]:
    """POST /__sandbox__/accounts for TikTok: the advertiser as advertiser/info/ shows it."""
    try:
        advertiser_id = _id(account.id)
    except ValueError:
        raise ValueError("a TikTok advertiser id is a string of digits") from None
    with store.transaction():
        return _view(provision(store, advertiser_id, account.timezone, account.currency))


def _status_matches(status: str, wanted: str) -> bool:
    if wanted.endswith("_STATUS_ALL"):
        return True
    if wanted.endswith("_STATUS_NOT_DELETE"):
        return not status.endswith("_DELETE")
    return status == wanted


def _dimensions(type_: str, content: bytes) -> dict[str, int]:
    """`width` and `height` from the file's header (PNG IHDR, JPEG SOFn, MP4 tkhd), when it has them."""
    size = video_size(content) if type_ == "video" else image_size(content)
    if size is None or not all(size):
        return {}
    return {"width": size[0], "height": size[1]}


def _media_format(type_: str, content: bytes) -> str | None:
    """The file's format from its first bytes (png/jpeg images; mp4/mov videos, which hold an `ftyp` box)."""
    if type_ == "image":
        if content.startswith(b"\x89PNG\r\n\x1a\n"):
            return "png"
        return "jpeg" if content.startswith(b"\xff\xd8\xff") else None
    return "mp4" if content[4:8] == b"ftyp" else None


PLATFORM = Platform(
    NAME, PREFIX, lambda sandbox: TikTokApi(sandbox).routes(), TikTokErrors(), provision_account=provision_account
)
