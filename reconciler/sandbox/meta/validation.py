"""What the emulated Graph accepts: enums (research 2.4), parameter coercion, the object types and their checks."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reconciler.sandbox.meta.errors import _invalid

# --- enums (research 2.4, FB-SDK v25.0) ---

OBJECTIVES = frozenset(
    {
        "OUTCOME_APP_PROMOTION", "OUTCOME_AWARENESS", "OUTCOME_ENGAGEMENT", "OUTCOME_LEADS", "OUTCOME_SALES",
        "OUTCOME_TRAFFIC", "APP_INSTALLS", "BRAND_AWARENESS", "CONVERSIONS", "EVENT_RESPONSES", "LEAD_GENERATION",
        "LINK_CLICKS", "LOCAL_AWARENESS", "MESSAGES", "OFFER_CLAIMS", "PAGE_LIKES", "POST_ENGAGEMENT",
        "PRODUCT_CATALOG_SALES", "REACH", "STORE_VISITS", "VIDEO_VIEWS",
    }
)  # fmt: skip
CREATE_STATUSES = frozenset({"ACTIVE", "PAUSED"})
STATUSES = frozenset({"ACTIVE", "PAUSED", "DELETED", "ARCHIVED"})
CREATIVE_STATUSES = frozenset({"ACTIVE", "DELETED", "IN_PROCESS", "WITH_ISSUES"})
SPECIAL_AD_CATEGORIES = frozenset(
    {"NONE", "CREDIT", "EMPLOYMENT", "FINANCIAL_PRODUCTS_SERVICES", "HOUSING", "ISSUES_ELECTIONS_POLITICS",
     "ONLINE_GAMBLING_AND_GAMING"}
)  # fmt: skip
BUYING_TYPES = frozenset({"AUCTION", "RESERVED"})
BID_STRATEGIES = frozenset(
    {"LOWEST_COST_WITHOUT_CAP", "LOWEST_COST_WITH_BID_CAP", "COST_CAP", "LOWEST_COST_WITH_MIN_ROAS"}
)
BID_AMOUNT_STRATEGIES = frozenset({"LOWEST_COST_WITH_BID_CAP", "COST_CAP"})
BILLING_EVENTS = frozenset(
    {"APP_INSTALLS", "CLICKS", "IMPRESSIONS", "LINK_CLICKS", "LISTING_INTERACTION", "NONE", "OFFER_CLAIMS",
     "PAGE_LIKES", "POST_ENGAGEMENT", "PURCHASE", "THRUPLAY"}
)  # fmt: skip
# The research lists 33 goals without all of them; these are the ones named there and in the SDK's AdSet.
OPTIMIZATION_GOALS = frozenset(
    {
        "NONE", "AD_RECALL_LIFT", "APP_INSTALLS", "AUTOMATIC_OBJECTIVE", "CLICKS", "CONVERSATIONS",
        "DERIVED_EVENTS", "ENGAGED_USERS", "EVENT_RESPONSES", "IMPRESSIONS", "LANDING_PAGE_VIEWS",
        "LEAD_GENERATION", "LINK_CLICKS", "OFFSITE_CONVERSIONS", "PAGE_LIKES", "POST_ENGAGEMENT", "PROFILE_VISIT",
        "QUALITY_LEAD", "REACH", "REPLIES", "THRUPLAY", "VALUE", "VISIT_INSTAGRAM_PROFILE",
    }
)  # fmt: skip
DESTINATION_TYPES = frozenset(
    {"WEBSITE", "APP", "MESSENGER", "WHATSAPP", "INSTAGRAM_DIRECT", "ON_AD", "ON_POST", "ON_PAGE", "FACEBOOK",
     "SHOP_AUTOMATIC", "UNDEFINED"}
)  # fmt: skip
CALL_TO_ACTION_TYPES = frozenset(
    {
        "ADD_TO_CART", "APPLY_NOW", "ASK_ABOUT_SERVICES", "AUDIO_CALL", "BOOK_A_CONSULTATION", "BOOK_NOW",
        "BOOK_TRAVEL", "BUY", "BUY_NOW", "BUY_TICKETS", "CALL", "CALL_ME", "CALL_NOW", "CHAT_WITH_US", "CONTACT",
        "CONTACT_US", "DONATE", "DONATE_NOW", "DOWNLOAD", "EVENT_RSVP", "GET_A_QUOTE", "GET_DIRECTIONS",
        "GET_IN_TOUCH", "GET_OFFER", "GET_PROMOTIONS", "GET_QUOTE", "GET_SHOWTIMES", "GET_STARTED", "INQUIRE_NOW",
        "INSTALL_APP", "INSTALL_MOBILE_APP", "LEARN_MORE", "LIKE_PAGE", "LISTEN_MUSIC", "LISTEN_NOW",
        "MAKE_AN_APPOINTMENT", "MESSAGE_PAGE", "MOBILE_DOWNLOAD", "NO_BUTTON", "OPEN_LINK", "ORDER_NOW",
        "PLAY_GAME", "REQUEST_TIME", "SEE_MORE", "SELL_NOW", "SEND_UPDATES", "SHOP_NOW", "SIGN_UP", "START_ORDER",
        "SUBSCRIBE", "USE_APP", "USE_MOBILE_APP", "VIEW_PRODUCT", "WATCH_MORE", "WATCH_VIDEO", "WHATSAPP_MESSAGE",
    }
)  # fmt: skip
STORY_KINDS = ("link_data", "video_data", "photo_data", "template_data")

# --- parameter coercion: form bodies carry strings (nested values JSON-encoded), JSON bodies typed values ---


class _Bad(ValueError):
    """A parameter value is malformed; the message completes "param NAME ..."."""


def _text(value: Any) -> str:
    if isinstance(value, dict | list) or value is None:
        raise _Bad("must be a string")
    return str(value)


def _uint(value: Any) -> int:
    if isinstance(value, bool):
        raise _Bad("must be a non-negative integer")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise _Bad("must be a non-negative integer")


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise _Bad("must be a boolean")


def _decoded(value: Any) -> Any:
    """A nested value: as is from a JSON body, JSON-decoded from a form or query string."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise _Bad("must be JSON") from None
    return value


def _object(value: Any) -> dict[str, Any]:
    decoded = _decoded(value)
    if not isinstance(decoded, dict):
        raise _Bad("must be a JSON object")
    return decoded


def _list(value: Any) -> list[Any]:
    decoded = _decoded(value)
    if not isinstance(decoded, list):
        raise _Bad("must be a JSON array")
    return decoded


def _json(value: Any) -> Any:
    return _decoded(value) if isinstance(value, str) and value[:1] in "[{" else value


def _creative(value: Any) -> dict[str, str]:
    """An ad's creative: {"creative_id": ID} (ids may come as numbers in JSON)."""
    creative = _object(value)
    if creative.get("creative_id") in (None, ""):
        raise _Bad("must contain creative_id")
    return {"creative_id": str(creative["creative_id"])}


def _choice(allowed: frozenset[str]) -> Callable[[Any], str]:
    def coerce(value: Any) -> str:
        if value not in allowed:
            raise _Bad(f"must be one of {{{', '.join(sorted(allowed))}}}")
        return value

    return coerce


def _choices(allowed: frozenset[str]) -> Callable[[Any], list[str]]:
    def coerce(value: Any) -> list[str]:
        items = _list(value)
        bad = [item for item in items if item not in allowed]
        if bad:
            raise _Bad(f"must be a list of {{{', '.join(sorted(allowed))}}}")
        return items

    return coerce


def _time(value: Any) -> str:
    """ISO 8601 (any offset; none means the account's time zone) or a unix timestamp; kept as Graph shows it."""
    text = str(value).strip()
    try:
        when = dt.datetime.fromtimestamp(int(text), dt.UTC) if text.isdigit() else dt.datetime.fromisoformat(text)
    except (ValueError, OverflowError):
        raise _Bad("must be a datetime (ISO 8601 or unix timestamp)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return _graph_time(when)


def _end_time(value: Any) -> str | None:
    """An end time, or 0 for none: "specify end_time=0 to set the ad set as ongoing" (Graph AdSet
    docs, for daily budgets); an ongoing object reads back without the field."""
    return None if str(value).strip() == "0" else _time(value)


def _graph_time(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _now() -> str:
    return _graph_time(dt.datetime.now(dt.UTC))


# --- the object types ---

Coerce = Callable[[Any], Any]
WRITE_ONLY = frozenset({"execution_options"})
# Graph returns money as numeric strings although it takes integers (FB-SDK field types).
MONEY_FIELDS = frozenset({"daily_budget", "lifetime_budget", "spend_cap"})


@dataclass(frozen=True)
class _Type:
    name: str  # store type, as named in DESIGN.md section 4
    node: str  # Graph's node type, in messages
    edge: str  # the ad account edge that lists and creates it
    params: dict[str, Coerce]  # create params (research 2.3)
    required: tuple[str, ...]
    updatable: frozenset[str]  # research 2.5 (the SDK's api_update params)
    first_id: int = 0  # ids grow per type from here; distinct ranges make mix-ups visible
    computed: tuple[str, ...] = ()  # readable fields the server fills in
    default_fields: tuple[str, ...] = ("id", "name")


_COMMON: dict[str, Coerce] = {"name": _text, "adlabels": _list, "execution_options": _list}
_CAMPAIGN_PARAMS: dict[str, Coerce] = {
    **_COMMON,
    "objective": _choice(OBJECTIVES),
    "status": _choice(CREATE_STATUSES),
    "special_ad_categories": _choices(SPECIAL_AD_CATEGORIES),
    "special_ad_category_country": _list,
    "buying_type": _choice(BUYING_TYPES),
    "daily_budget": _uint,
    "lifetime_budget": _uint,
    "spend_cap": _uint,
    "bid_strategy": _choice(BID_STRATEGIES),
    "start_time": _time,
    "stop_time": _end_time,
    "promoted_object": _object,
    "is_adset_budget_sharing_enabled": _flag,
}
_ADSET_PARAMS: dict[str, Coerce] = {
    **_COMMON,
    "campaign_id": _text,
    "status": _choice(CREATE_STATUSES),
    "billing_event": _choice(BILLING_EVENTS),
    "optimization_goal": _choice(OPTIMIZATION_GOALS),
    "bid_amount": _uint,
    "bid_strategy": _choice(BID_STRATEGIES),
    "daily_budget": _uint,
    "lifetime_budget": _uint,
    "start_time": _time,
    "end_time": _end_time,
    "targeting": _object,
    "promoted_object": _object,
    "destination_type": _choice(DESTINATION_TYPES),
    "attribution_spec": _list,
    "frequency_control_specs": _list,
    "pacing_type": _list,
    "dsa_beneficiary": _text,
    "dsa_payor": _text,
}
_CREATIVE_PARAMS: dict[str, Coerce] = {
    **_COMMON,
    "object_story_spec": _object,
    "asset_feed_spec": _object,
    "object_story_id": _text,
    "image_hash": _text,
    "image_url": _text,
    "body": _text,
    "title": _text,
    "link_url": _text,
    "call_to_action": _object,
    "url_tags": _text,
    "actor_id": _text,
    "instagram_user_id": _text,
    "degrees_of_freedom_spec": _object,
}
_AD_PARAMS: dict[str, Coerce] = {
    **_COMMON,
    "adset_id": _text,
    "creative": _creative,
    "status": _choice(CREATE_STATUSES),
    "tracking_specs": _json,
    "conversion_domain": _text,
}
# A campaign's ad sets and ads, an ad set's ads: deleted with it (Meta deletes children;
# the exact cascade is UNCONFIRMED in the research).
CHILDREN = {"campaign": (("adset", "campaign_id"), ("ad", "campaign_id")), "adset": (("ad", "adset_id"),)}

TYPES: dict[str, _Type] = {
    t.name: t
    for t in (
        _Type(
            "campaign",
            "Campaign",
            "campaigns",
            _CAMPAIGN_PARAMS,
            ("name", "objective", "special_ad_categories"),
            frozenset(_CAMPAIGN_PARAMS) - {"buying_type"},
            120_201_000_000_000_000,
            ("account_id", "status", "configured_status", "effective_status", "created_time", "updated_time"),
        ),
        _Type(
            "adset",
            "AdSet",
            "adsets",
            _ADSET_PARAMS,
            ("name", "campaign_id", "billing_event", "targeting"),
            frozenset(_ADSET_PARAMS) - {"campaign_id"},
            120_202_000_000_000_000,
            ("account_id", "status", "configured_status", "effective_status", "created_time", "updated_time"),
        ),
        _Type(
            "adcreative",
            "AdCreative",
            "adcreatives",
            _CREATIVE_PARAMS,
            (),
            frozenset({"name", "status", "adlabels", "execution_options"}),
            120_203_000_000_000_000,
            ("account_id", "status"),
        ),
        _Type(
            "ad",
            "Ad",
            "ads",
            _AD_PARAMS,
            ("name", "adset_id", "creative"),
            frozenset(_AD_PARAMS) - {"adset_id"},
            120_204_000_000_000_000,
            (
                "account_id",
                "campaign_id",
                "status",
                "configured_status",
                "effective_status",
                "ad_review_feedback",
                "created_time",
                "updated_time",
            ),
        ),
        _Type(
            "advideo",
            "AdVideo",
            "advideos",
            {"name": _text, "title": _text, "description": _text},
            (),
            frozenset({"name", "title", "description"}),
            1_020_000_000_000_000,
            ("status", "created_time", "updated_time"),
            ("id", "title"),
        ),
    )
}
# Readable on an ad video (it has a title, not a name: `name` on upload sets the title, UNCONFIRMED).
VIDEO_FIELDS = frozenset({"id", "title", "description", "status", "source", "picture", "created_time", "updated_time"})
IMAGE_FIELDS = frozenset(
    {"id", "account_id", "hash", "name", "status", "url", "width", "height", "created_time", "updated_time"}
)
ACCOUNT_FIELDS = frozenset({"id", "account_id", "name", "currency", "account_status", "timezone_name"})

IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"II*\x00", b"MM\x00*")
VIDEO_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free")  # the first box of an MP4 / QuickTime file


def _check_targeting(targeting: dict[str, Any]) -> None:
    geo = targeting.get("geo_locations")
    if not isinstance(geo, dict) or not any(
        geo.get(k) for k in ("countries", "regions", "cities", "zips", "custom_locations")
    ):
        raise _invalid("Location required", "targeting.geo_locations needs at least one location (e.g. countries).")
    for country in geo.get("countries") or []:
        if not (isinstance(country, str) and len(country) == 2 and country.isupper()):
            raise _invalid(
                "Invalid country", f"targeting.geo_locations.countries: {country!r} is not an ISO country code."
            )
    ages = {}
    for key in ("age_min", "age_max"):
        if key in targeting:
            value = targeting[key]
            if isinstance(value, bool) or not isinstance(value, int) or not 13 <= value <= 65:
                raise _invalid("Invalid age", f"targeting.{key} must be an integer from 13 to 65.")
            ages[key] = value
    if ages.get("age_min", 13) > ages.get("age_max", 65):
        raise _invalid("Invalid age", "targeting.age_min must not exceed targeting.age_max.")
