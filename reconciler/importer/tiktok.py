"""TikTok import: live campaigns, their one ad group and their ads as Campaign, Creative and Advertiser documents.

The reverse of spec/compile.py's tiktok(): every attribute the compiler sets must come back
exactly from the documents written here, or the object is Skipped with the reason. Where a
compiled value would differ from the live one, the campaign's `overrides` carry the live value
(`overrides: {tiktok: {campaign: {...}, ad: {...}, FIELD: ...}}`, bare keys going to the ad group),
when that reproduces every object of the campaign.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from reconciler.importer.model import (
    ASSET_REF,
    CONVERSIONS_NOT_IMPORTED,
    Account,
    Fetch,
    Mapped,
    Names,
    Skipped,
    Unit,
    slugify,
)
from reconciler.media import media_format, pixel_size
from reconciler.model import make_address
from reconciler.providers.base import Listed, ProviderError
from reconciler.providers.tiktok import declared_name
from reconciler.spec.compile import CREATIVE_OVERRIDES, TIKTOK_AGE_GROUPS, TIKTOK_LOCATION_IDS, TIKTOK_OBJECTIVES
from reconciler.spec.models import Campaign, Creative

# `advertiser` is not a resource: list_all("advertiser") answers the target's advertiser (name, currency).
TYPES: tuple[str, ...] = ("advertiser", "campaign", "adgroup", "image", "video", "ad")

_OBJECTIVES = {
    objective_type: (objective, goal, billing)
    for objective, (objective_type, goal, billing) in TIKTOK_OBJECTIVES.items()
}
_COUNTRIES = {location: country for country, location in TIKTOK_LOCATION_IDS.items()}
_FORMATS = {
    ("image", "png"): "image/png",
    ("image", "jpeg"): "image/jpeg",
    ("image", "jpg"): "image/jpeg",
    ("video", "mp4"): "video/mp4",
    ("video", "mov"): "video/quicktime",
}
_EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "video/mp4": "mp4", "video/quicktime": "mov"}
# A video whose size TikTok did not report: the usual 9:16 in-feed size (a guess, said in the comment).
GUESSED_VIDEO_SIZE = "1080x1920"
START_CLOCK, END_CLOCK = "00:00:00", "23:59:59"  # what compile appends to start_date / end_date
# Ad fields the compiler takes from the campaign or its creative, which an `ad` override can set instead.
_AD_FIELDS = ("ad_name", "ad_text", "identity_type", "landing_page_url", "call_to_action", "operation_status")


@dataclass
class _Media:
    """One library file shown by imported ads: its Creative document, once an ad takes it."""

    listed: Listed
    file_name: str
    format: str
    content: bytes
    size: str
    guessed_size: bool
    name: str = ""  # the Creative's, claimed by the first ad that shows it
    creative: dict[str, Any] | None = None  # what the Creative takes from that ad
    unit: Unit | None = None
    recorded: bool = False  # the upload of a creative the specs declare already


@dataclass
class _Context:
    target: Any
    listed: Mapping[str, list[Listed]]
    recorded: Mapping[tuple[str, str], str]
    names: Names
    fetch: Fetch
    mapped: Mapped = field(default_factory=Mapped)
    media: dict[tuple[str, str], _Media | str] = field(default_factory=dict)  # a _Media or why it cannot be
    advertiser: str = ""
    advertiser_unit: Unit | None = None
    currency: str | None = None
    used_advertiser: bool = False

    def skip(self, obj: Listed, name_key: str, reason: str) -> None:
        self.mapped.skipped.append(
            Skipped(self.target.name, obj.type, obj.id, str(obj.row.get(name_key) or ""), reason)
        )

    def address(self, type_: str, name: str) -> str:
        return make_address(self.target.name, type_, name)


async def map_objects(account: Account) -> Mapped:
    """Documents for the listed TikTok objects of one target (see PlatformImporter.map_objects)."""
    listed = account.listed
    ctx = _Context(account.target, listed, account.recorded, account.names, account.fetch)
    _advertiser(ctx)
    adgroups = _by_parent(listed.get("adgroup", []), "campaign_id")
    ads = _by_parent(listed.get("ad", []), "adgroup_id")
    campaigns = sorted(listed.get("campaign", []), key=lambda o: _id_order(o.id))
    campaign_ids = {c.id for c in campaigns}
    taken_ads: set[str] = set()
    for campaign in campaigns:
        await _campaign(ctx, campaign, adgroups.get(campaign.id, []), ads, taken_ads)
    # What no imported campaign took: children of recorded or skipped parents.
    for group in sorted(listed.get("adgroup", []), key=lambda o: _id_order(o.id)):
        parent = str(group.row.get("campaign_id"))
        if parent not in campaign_ids:
            ctx.skip(group, "adgroup_name", _parent_reason(ctx, "campaign", parent))
    for ad in sorted(listed.get("ad", []), key=lambda o: _id_order(o.id)):
        if ad.id not in taken_ads:  # every ad of an imported ad group is taken or skipped already
            ctx.skip(ad, "ad_name", _parent_reason(ctx, "adgroup", str(ad.row.get("adgroup_id"))))
    for type_ in ("image", "video"):
        for obj in sorted(listed.get(type_, []), key=lambda o: _id_order(o.id)):
            media = ctx.media.get((type_, obj.id))
            if not (isinstance(media, _Media) and media.unit is not None):
                ctx.skip(obj, "file_name", f"no imported ad shows this {type_}")
    if ctx.advertiser_unit is not None and ctx.used_advertiser:
        ctx.mapped.units.insert(0, ctx.advertiser_unit)
    return ctx.mapped


def _advertiser(ctx: _Context) -> None:
    """The Advertiser document all imported documents name: one per target, reused when the specs have it."""
    rows = ctx.listed.get("advertiser", [])
    row = rows[0].row if rows else {}
    display = str(row.get("name") or ctx.target.name)[:255]
    currency = row.get("currency")
    ctx.currency = str(currency) if currency else None
    slug = slugify(display) or slugify(ctx.target.name) or "tiktok-advertiser"
    if not ctx.names.is_free("Advertiser", slug):
        # Declared already (by an earlier import): TikTok compiles nothing from it, so naming it is enough.
        ctx.advertiser = slug
        return
    ctx.advertiser = ctx.names.claim("Advertiser", display, ctx.target.name)
    ctx.advertiser_unit = Unit(
        {"kind": "Advertiser", "name": ctx.advertiser, "display_name": display},
        comment=f"TikTok advertiser {row.get('advertiser_id') or ctx.target.advertiser_id} (target {ctx.target.name})",
    )


def _parent_reason(ctx: _Context, type_: str, parent: str) -> str:
    if (type_, parent) in ctx.recorded:
        return f"its {type_} is managed already as {ctx.recorded[(type_, parent)]}; add it to that document by hand"
    return f"its {type_} {parent} is not imported"


async def _campaign(
    ctx: _Context, campaign: Listed, groups: list[Listed], ads: dict[str, list[Listed]], taken_ads: set[str]
) -> None:
    row = campaign.row
    if len(groups) != 1:
        count = "no ad group" if not groups else f"{len(groups)} ad groups"
        ctx.skip(campaign, "campaign_name", f"it has {count}; a Campaign document compiles to exactly one")
        for group in groups:
            ctx.skip(group, "adgroup_name", f"its campaign {campaign.id} has {len(groups)} ad groups")
        return
    group = groups[0]
    try:
        document, overrides, creatives_of = _campaign_document(ctx, campaign, group)
    except _Inexpressible as exc:
        ctx.skip(campaign, "campaign_name", str(exc))
        ctx.skip(group, "adgroup_name", f"its campaign {campaign.id} is not imported: {exc}")
        return
    name = document["name"]
    status = row.get("operation_status")
    unit = Unit(document, objects=[campaign, group])
    unit.ids[ctx.address("campaign", name)] = campaign.id
    unit.ids[ctx.address("adgroup", name)] = group.id
    unit.needs.append(("Advertiser", ctx.advertiser))
    differences: list[tuple[str, dict[str, Any]]] = []  # creative name, the ad's live values unlike compiled
    creatives: list[str] = []
    shown: set[int] = set()
    for ad in sorted(ads.get(group.id, []), key=lambda o: _id_order(o.id)):
        taken_ads.add(ad.id)
        media = await _ad_media(ctx, ad)
        if isinstance(media, str):
            ctx.skip(ad, "ad_name", media)
            continue
        if id(media) in shown:
            ctx.skip(ad, "ad_name", f"another ad of campaign {campaign.id} shows the same {media.listed.type}")
            continue
        try:
            # A creative the project declares already: what the ad takes from it is not known here,
            # so the ad's own values are kept through overrides (None never equals a live value).
            creative = _CREATIVE_UNKNOWN if media.recorded else _take_media(ctx, media, ad.row)
        except _Inexpressible as exc:
            ctx.skip(ad, "ad_name", str(exc))
            continue
        shown.add(id(media))
        compiled = {
            "ad_name": f"{name}.{media.name}",
            "ad_text": creative["body"],
            "identity_type": "CUSTOMIZED_USER",
            "landing_page_url": creative["click_url"],
            "call_to_action": creative["call_to_action"],
            "operation_status": status,
        }
        differences.append((media.name, {k: ad.row.get(k) for k in _AD_FIELDS if ad.row.get(k) != compiled[k]}))
        creatives.append(media.name)
        unit.ids[ctx.address("ad", f"{name}.{media.name}")] = ad.id
        unit.objects.append(ad)
        if not media.recorded:
            unit.needs.append(("Creative", media.name))
    overrides |= _ad_overrides(differences)
    document["creatives"] = creatives
    if overrides:
        document["overrides"] = {"tiktok": overrides}
    try:
        Campaign.model_validate(document)
    except ValidationError as exc:  # a safety net: the checks above should make this unreachable
        ctx.skip(campaign, "campaign_name", f"its document would not validate: {_first_error(exc)}")
        return
    unit.comment = f"TikTok campaign {campaign.id} with ad group {group.id}" + (
        f"; not managed: {', '.join(creatives_of)}" if creatives_of else ""
    )
    ctx.used_advertiser = True
    ctx.mapped.units.append(unit)


_CREATIVE_UNKNOWN: dict[str, Any] = {"body": None, "click_url": None, "call_to_action": None}


class _Inexpressible(Exception):
    """The reason a live object has no document that compiles back to it."""


def _campaign_document(
    ctx: _Context, campaign: Listed, group: Listed
) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """The Campaign document (without creatives), its overrides by type, and live fields left unmanaged."""
    row, ag = campaign.row, group.row
    objective_type = row.get("objective_type")
    if objective_type not in _OBJECTIVES:
        raise _Inexpressible(
            f"its objective {objective_type} has no spec objective (known: {', '.join(sorted(_OBJECTIVES))})"
        )
    objective, goal, billing = _OBJECTIVES[str(objective_type)]
    if objective == "conversions":
        raise _Inexpressible(CONVERSIONS_NOT_IMPORTED)
    status = row.get("operation_status")
    if status not in ("ENABLE", "DISABLE"):
        raise _Inexpressible(f"its status {status} is neither ENABLE nor DISABLE")
    overrides: dict[str, Any] = {}
    campaign_over: dict[str, Any] = {}
    if row.get("budget_mode", "BUDGET_MODE_INFINITE") != "BUDGET_MODE_INFINITE":
        campaign_over["budget_mode"] = row["budget_mode"]
        campaign_over["budget"] = _amount(row.get("budget"), "campaign budget")
    # The ad group: the budget, schedule and audience of the document.
    start = _time(ag.get("schedule_start_time"), "schedule_start_time")
    document: dict[str, Any] = {
        "kind": "Campaign",
        "name": "",
        "advertiser": ctx.advertiser,
        "start_date": start.date(),
    }
    if start.strftime("%H:%M:%S") != START_CLOCK:
        overrides["schedule_start_time"] = ag["schedule_start_time"]
    schedule_type = ag.get("schedule_type")
    if schedule_type == "SCHEDULE_START_END":
        end = _time(ag.get("schedule_end_time"), "schedule_end_time")
        if end.date() < start.date():
            raise _Inexpressible("its ad group ends before the day it starts")
        document["end_date"] = end.date()
        if end.strftime("%H:%M:%S") != END_CLOCK:
            overrides["schedule_end_time"] = ag["schedule_end_time"]
    elif schedule_type != "SCHEDULE_FROM_NOW":
        raise _Inexpressible(f"its ad group's schedule_type {schedule_type} is not START_END or FROM_NOW")
    document["targets"] = [ctx.target.name]
    document["budget"] = _budget(ctx, ag, "end_date" in document, overrides)
    document["objective"] = objective
    document["audience"] = _audience(ag, overrides)
    if status == "DISABLE":
        document["paused"] = True
    for key, compiled in (
        ("placement_type", "PLACEMENT_TYPE_AUTOMATIC"),
        ("billing_event", billing),
        ("optimization_goal", goal),
        ("pacing", "PACING_MODE_SMOOTH"),
        ("operation_status", status),
    ):
        if key in ag and ag[key] != compiled:
            overrides[key] = ag[key]
    if "placement_type" in overrides and ag.get("placements"):
        overrides["placements"] = list(ag["placements"])
    # Names last: only an expressible campaign claims one.
    name = ctx.names.claim("Campaign", str(row.get("campaign_name") or ""), f"campaign-{campaign.id}")
    document["name"] = name
    if row.get("campaign_name") != name:
        campaign_over["campaign_name"] = row.get("campaign_name")
    if ag.get("adgroup_name") != name:
        overrides["adgroup_name"] = ag.get("adgroup_name")
    if campaign_over:
        overrides["campaign"] = campaign_over
    unmanaged = [key for key in ("gender", "languages") if ag.get(key) not in (None, [], "GENDER_UNLIMITED")]
    return document, overrides, [f"ad group {key}" for key in unmanaged]


def _budget(ctx: _Context, ag: dict[str, Any], has_end: bool, overrides: dict[str, Any]) -> dict[str, Any]:
    mode = ag.get("budget_mode")
    if mode == "BUDGET_MODE_INFINITE" or mode is None:
        raise _Inexpressible("its ad group has no budget (BUDGET_MODE_INFINITE); a campaign needs daily or lifetime")
    if ctx.currency is None:
        raise _Inexpressible("the advertiser's currency is unknown (advertiser/info/ did not answer it)")
    amount = _amount(ag.get("budget"), "ad group budget")
    if mode == "BUDGET_MODE_TOTAL":
        if not has_end:
            raise _Inexpressible("its lifetime budget runs without an end date, which a spec refuses")
        return {"lifetime": amount, "currency": ctx.currency}
    if mode == "BUDGET_MODE_DYNAMIC_DAILY_BUDGET":
        overrides["budget_mode"] = mode  # compile writes BUDGET_MODE_DAY for a daily budget
    elif mode != "BUDGET_MODE_DAY":
        raise _Inexpressible(f"its ad group's budget_mode {mode} is not known")
    return {"daily": amount, "currency": ctx.currency}


def _audience(ag: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    countries = []
    for location in ag.get("location_ids") or []:
        country = _COUNTRIES.get(str(location))
        if country is None:
            raise _Inexpressible(
                f"its ad group targets location {location}, which no spec country maps to "
                f"(known: {', '.join(sorted(TIKTOK_LOCATION_IDS))})"
            )
        countries.append(country)
    if not countries:
        raise _Inexpressible("its ad group targets no location; a spec audience names at least one country")
    if len(set(countries)) != len(countries):
        raise _Inexpressible("its ad group lists a location twice")
    audience: dict[str, Any] = {"countries": countries}
    groups = list(ag.get("age_groups") or [])
    known = [name for name, _, _ in TIKTOK_AGE_GROUPS]
    indexes = sorted(known.index(g) for g in groups if g in known)
    contiguous = len(indexes) == len(groups) and indexes and indexes == list(range(indexes[0], indexes[-1] + 1))
    if contiguous and [known[i] for i in indexes] == groups:
        low, high = TIKTOK_AGE_GROUPS[indexes[0]][1], TIKTOK_AGE_GROUPS[indexes[-1]][2]
        if low != 18:
            audience["age_min"] = low
        if high <= 65:
            audience["age_max"] = high
    else:
        # No age range compiles to these groups (none, a gap, another order): the override sets them as they are.
        overrides["age_groups"] = groups
    return audience


def _creative_fields(ad: dict[str, Any]) -> dict[str, Any]:
    """What a Creative takes from the first ad that shows its file."""
    return {
        "click_url": ad.get("landing_page_url"),
        "body": ad.get("ad_text"),
        "call_to_action": ad.get("call_to_action") or "LEARN_MORE",
    }


def _ad_overrides(differences: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The overrides that give each ad its live values: a field every ad has alike for the whole campaign
    (`ad`), the rest per creative (`creatives: {CREATIVE: {ad: {...}}}`, e.g. an ad's own name)."""
    overrides: dict[str, Any] = {}
    common: dict[str, Any] = {}
    if differences:
        first = differences[0][1]
        common = {k: v for k, v in first.items() if all(k in d and d[k] == v for _, d in differences)}
    if common:
        overrides["ad"] = common
    per_creative = {
        creative: {"ad": rest}
        for creative, differing in differences
        if (rest := {k: v for k, v in differing.items() if k not in common})
    }
    if per_creative:
        overrides[CREATIVE_OVERRIDES] = per_creative
    return overrides


async def _ad_media(ctx: _Context, ad: Listed) -> _Media | str:
    """The library file the ad shows, ready as a Creative, or the reason the ad cannot be imported."""
    row = ad.row
    if row.get("identity_id") != ctx.target.identity_id:
        return (
            f"its identity {row.get('identity_id')} is not the target's ({ctx.target.identity_id}); "
            "ads take their identity from the target"
        )
    ad_format = row.get("ad_format")
    if ad_format == "SINGLE_IMAGE":
        images = [str(i) for i in row.get("image_ids") or []]
        if len(images) != 1:
            return f"it shows {len(images)} images; a SINGLE_IMAGE ad of a spec shows one"
        type_, media_id = "image", images[0]
    elif ad_format == "SINGLE_VIDEO" and row.get("video_id"):
        type_, media_id = "video", str(row["video_id"])
    else:
        return f"its format {ad_format} is not one a spec creative compiles to (SINGLE_IMAGE, SINGLE_VIDEO)"
    key = (type_, media_id)
    if key in ctx.recorded:  # the upload of a declared creative: the campaign names that creative
        if ctx.names.is_free("Creative", ctx.recorded[key]):
            return (
                f"its {type_} is recorded as {ctx.recorded[key]}, which no Creative in the specs declares "
                "any more; declare it, or `reconciler state rm` the upload, then import again"
            )
        recorded = ctx.media.setdefault(key, _Media(Listed(type_, media_id, {}), "", "", b"", "", False))
        assert isinstance(recorded, _Media)
        recorded.name, recorded.recorded = ctx.recorded[key], True
        return recorded
    if key not in ctx.media:
        ctx.media[key] = await _load_media(ctx, type_, media_id)
    return ctx.media[key]


async def _load_media(ctx: _Context, type_: str, media_id: str) -> _Media | str:
    obj = next((o for o in ctx.listed.get(type_, []) if o.id == media_id), None)
    if obj is None:
        return f"its {type_} {media_id} is not in the advertiser's library"
    row = obj.row
    file_name = str(row.get("file_name") or "")
    media_format = _FORMATS.get((type_, str(row.get("format") or "").lower()))
    if media_format is None:
        return f"its {type_}'s format {row.get('format')} is not one a spec creative has"
    url = row.get("image_url" if type_ == "image" else "preview_url")
    if not url:
        return f"TikTok gives no URL to download its {type_}"
    try:
        content = await ctx.fetch(str(url))
    except ProviderError as exc:
        return f"its {type_} could not be downloaded: {exc.message}"
    signature = row.get("signature")
    if signature and hashlib.md5(content).hexdigest() != str(signature).lower():
        return f"the {type_} TikTok serves is not the uploaded file (its MD5 differs from the signature)"
    size, guessed = _size(type_, row, content)
    # The name compile gives the upload: the provider adds a content suffix (unique library names).
    return _Media(obj, declared_name(file_name, content), media_format, content, size, guessed)


def _take_media(ctx: _Context, media: _Media, ad: dict[str, Any]) -> dict[str, Any]:
    """The first ad that shows a file makes its Creative document; the fields the Creative holds.

    The creative is named after the file (compile names an upload after its creative); where the
    name differs, the upload keeps its own: a file name only labels an upload (ResourceType.labels).
    """
    if media.creative is not None:
        return media.creative
    creative = _creative_fields(ad)
    document = {
        "kind": "Creative",
        "name": "unnamed",
        "advertiser": ctx.advertiser,
        "format": media.format,
        "size": media.size,
        "asset": ASSET_REF,
        "click_url": creative["click_url"],
        "body": creative["body"],
        "call_to_action": creative["call_to_action"],
    }
    try:
        Creative.model_validate(document)
    except ValidationError as exc:
        raise _Inexpressible(f"its creative would not be a valid Creative: {_first_error(exc)}") from None
    media.creative = creative
    name = media.name = ctx.names.claim("Creative", media.file_name, f"{media.listed.type}-{media.listed.id}")
    extension = _EXTENSIONS[media.format]
    file_name = name if name.endswith(f".{extension}") else f"{name}.{extension}"
    document |= {"name": name, "asset": ASSET_REF + file_name}
    comment = f"TikTok {media.listed.type} {media.listed.id}"
    if media.guessed_size:
        comment += f"; size {media.size} is a guess (TikTok reported none)"
    media.unit = Unit(
        document,
        objects=[media.listed],
        needs=[("Advertiser", ctx.advertiser)],
        assets={file_name: media.content},
        comment=comment,
    )
    media.unit.ids[ctx.address(media.listed.type, name)] = media.listed.id
    ctx.mapped.units.append(media.unit)
    return creative


def _size(type_: str, row: dict[str, Any], content: bytes) -> tuple[str, bool]:
    """WIDTHxHEIGHT as TikTok reports it, else from the file's header, else (videos) a guess."""
    width, height = row.get("width"), row.get("height")
    if isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        return f"{width}x{height}", False
    media_type = media_format(content)
    found = pixel_size(content, media_type) if media_type else None
    if found is not None:
        return found, False
    return GUESSED_VIDEO_SIZE if type_ == "video" else "1x1", True


def _amount(value: Any, what: str) -> int | float:
    """A budget as the spec writes it: at most 2 decimals, an int when whole."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _Inexpressible(f"its {what} {value!r} is not a number") from None
    if number <= 0 or round(number, 2) != number:
        raise _Inexpressible(f"its {what} {value!r} is not a positive amount with at most 2 decimals")
    return int(number) if number.is_integer() else round(number, 2)


def _time(value: Any, what: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S")
    except ValueError:
        raise _Inexpressible(f"its ad group's {what} {value!r} is not a time") from None


def _by_parent(objects: list[Listed], key: str) -> dict[str, list[Listed]]:
    out: dict[str, list[Listed]] = {}
    for obj in objects:
        out.setdefault(str(obj.row.get(key)), []).append(obj)
    return out


def _id_order(id_: str) -> tuple[int, int | str]:
    return (1, int(id_)) if id_.isdigit() else (0, id_)


def _first_error(exc: ValidationError) -> str:
    error = exc.errors()[0]
    return f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}"
