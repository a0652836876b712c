"""Import from Meta: the reverse of reconciler/spec/compile.py's meta().

A Campaign document compiles to one Graph campaign with one ad set, and one ad (with its ad
creative) per listed Creative; a Creative compiles to one uploaded image or video. So a live
campaign imports when it has exactly one ad set whose every managed field the compiler can give
back: the objective's optimization goal, a budget in the account currency, targeting of countries
and ages only (with the Advantage+ audience flag; Graph's default location_types are its own), whole
days in the target's time zone (other times through overrides), and for conversions the target's
pixel with one of the events a Campaign names (without a pixel_id on the target, conversions
campaigns are listed as skipped). Where the compiled value
would differ from the live one and a per-campaign override reproduces it exactly (names, statuses,
billing event, buying type, special ad categories, exact start or end time), the override is
written; otherwise the object is skipped with the reason.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from reconciler.importer.model import (
    ASSET_REF,
    CONVERSIONS_NOT_IMPORTED,
    Account,
    Mapped,
    Names,
    Skipped,
    Unit,
    is_spec_name,
    slugify,
)
from reconciler.media import EXTENSIONS, image_size, media_format, video_size
from reconciler.model import make_address
from reconciler.providers.base import Listed, ProviderError
from reconciler.spec.compile import (
    CREATIVE_OVERRIDES,
    META_CUSTOM_EVENTS,
    META_OBJECTIVES,
    SHOWABLE_FORMATS,
    ZERO_DECIMAL_CURRENCIES,
)

# Parents first. "adaccount" is not a resource: its one row gives the currency budgets are in
# and the name of the target's Advertiser document.
TYPES: tuple[str, ...] = ("adaccount", "campaign", "adset", "adimage", "advideo", "adcreative", "ad")

_OBJECTIVES = {objective: (name, goal) for name, (objective, goal) in META_OBJECTIVES.items()}
_LINK_KEYS = frozenset({"link", "message", "name", "call_to_action", "image_hash"})
# A video's headline is its title; its thumbnail (image_url or image_hash) is Graph's or the provider's, not
# the spec's: refresh compares the keys compile sends only, so it is left to the platform.
_VIDEO_KEYS = frozenset({"message", "title", "call_to_action", "video_id", "image_url", "image_hash"})
_TARGETING_KEYS = frozenset({"geo_locations", "age_min", "age_max", "targeting_automation"})
# What Graph adds to geo_locations on read when none was sent (its default): not the spec's.
_DEFAULT_LOCATION_TYPES = (["home", "recent"], ["home"])
_EVENTS = {custom: event for event, custom in META_CUSTOM_EVENTS.items()}
# A video's size when its file does not say (no track header found): a guess, written as such.
_GUESSED_VIDEO_SIZE = "1920x1080"


@dataclass
class _Ad:
    """One live ad on its way to being a creative of its campaign's document."""

    row: Listed
    creative_row: Listed
    creative: str = ""  # the Creative document's name
    skip: str = ""  # why it is not imported


@dataclass
class _Creative:
    """A Creative document being built, shared by the ads whose content is the same."""

    name: str
    key: tuple[Any, ...]
    document: dict[str, Any]
    upload: Listed
    asset_file: str
    data: bytes
    comment: str = ""
    campaigns: set[str] = field(default_factory=set)  # campaign ids it is used in
    used: bool = False


class _Importer:
    def __init__(self, given: Account) -> None:
        self.target = target = given.target
        self.recorded = given.recorded
        self.names = given.names
        self.fetch = given.fetch
        self.out = Mapped()
        self.by_type = {type_: {obj.id: obj for obj in given.listed.get(type_, [])} for type_ in TYPES}
        self.account_id = str(target.ad_account_id).removeprefix("act_")
        account = next(iter(self.by_type["adaccount"].values()), None)
        self.account = account.row if account else {}
        self.creatives: list[_Creative] = []
        self.used: set[tuple[str, str]] = set()  # (type, id) of objects a unit imports or a skip names

    # --- helpers ---

    def skip(self, obj: Listed, reason: str) -> None:
        name = str(obj.row.get("title" if obj.type == "advideo" else "name") or "")
        self.out.skipped.append(Skipped(self.target.name, obj.type, obj.id, name, reason))
        self.used.add((obj.type, obj.id))

    def address(self, type_: str, name: str) -> str:
        return make_address(self.target.name, type_, name)

    def children(self, type_: str, parent_key: str, parent_id: str) -> list[Listed]:
        rows = [obj for obj in self.by_type[type_].values() if str(obj.row.get(parent_key)) == parent_id]
        return sorted(rows, key=_age)

    # --- the advertiser ---

    def advertiser(self) -> str:
        """The target's one Advertiser document: written once, referenced by the next imports."""
        display = str(self.account.get("name") or self.target.name)
        base = Names({}).claim("Advertiser", display, self.target.name)
        if not self.names.is_free("Advertiser", base):
            return base  # written by an earlier import (or declared by hand): reference it
        name = self.names.claim("Advertiser", display, self.target.name)
        document = {"kind": "Advertiser", "name": name, "display_name": display[:255]}
        comment = f"Meta ad account act_{self.account_id} (Meta has no advertiser object; nothing is created for it)"
        self.out.units.append(Unit(document, comment=comment))
        return name

    # --- campaigns ---

    async def run(self) -> Mapped:
        campaigns = sorted(self.by_type["campaign"].values(), key=_age)
        advertiser = self.advertiser() if campaigns else ""
        for campaign in campaigns:
            await self.campaign(campaign, advertiser)
        self.orphans()
        for creative in self.creatives:
            if creative.used:
                self.out.units.append(self.creative_unit(creative))
        return self.out

    async def campaign(self, campaign: Listed, advertiser: str) -> None:
        row = campaign.row
        adsets = self.children("adset", "campaign_id", campaign.id)
        reason = self.campaign_problem(campaign, adsets)
        if reason:
            self.skip(campaign, reason)
            for adset in adsets:
                self.skip(adset, f"its campaign {campaign.id} is not imported")
                for ad in self.children("ad", "adset_id", adset.id):
                    self.skip(ad, f"its campaign {campaign.id} is not imported")
            return
        adset = adsets[0]
        objective = _OBJECTIVES[str(row["objective"])][0]
        name = self.names.claim("Campaign", str(row.get("name") or ""), f"campaign-{campaign.id}")
        paused = row.get("status") == "PAUSED"
        status = "PAUSED" if paused else "ACTIVE"
        overrides: dict[str, dict[str, Any]] = {}

        def override(type_: str, key: str, live: Any, compiled: Any) -> None:
            if live != compiled:
                overrides.setdefault(type_, {})[key] = live

        override("campaign", "name", row.get("name"), name)
        override("adset", "name", adset.row.get("name"), name)
        override("adset", "status", adset.row.get("status"), status)
        override("campaign", "buying_type", row.get("buying_type") or "AUCTION", "AUCTION")
        override("campaign", "special_ad_categories", list(row.get("special_ad_categories") or []), [])
        override("adset", "billing_event", adset.row.get("billing_event"), "IMPRESSIONS")
        if row.get("is_adset_budget_sharing_enabled") is True:  # compile sends false (each ad set its own budget)
            overrides.setdefault("campaign", {})["is_adset_budget_sharing_enabled"] = True
        start, end = _schedule(adset.row)
        assert start is not None  # campaign_problem checked it
        # Whole days in the target's time zone unless overridden; the provider compares instants, not spellings.
        zone = zoneinfo.ZoneInfo(str(getattr(self.target, "timezone", None) or "UTC"))
        start, end = start.astimezone(zone), end.astimezone(zone) if end is not None else None
        if start != dt.datetime.combine(start.date(), dt.time(0, 0, 0), zone):
            overrides.setdefault("adset", {})["start_time"] = adset.row["start_time"]
        if end is not None and end != dt.datetime.combine(end.date(), dt.time(23, 59, 59), zone):
            overrides.setdefault("adset", {})["end_time"] = adset.row["end_time"]
        document: dict[str, Any] = {
            "kind": "Campaign",
            "name": name,
            "advertiser": advertiser,
            "targets": [self.target.name],
            "objective": objective,
            "start_date": start.date(),
        }
        if objective == "conversions":  # campaign_problem checked the pixel and the event
            event = _EVENTS[str(adset.row["promoted_object"]["custom_event_type"])]
            document["conversion_event"] = event
        if end is not None:
            document["end_date"] = end.date()
        document["budget"] = self.budget(adset.row)
        document["audience"] = _audience(adset.row["targeting"])
        if paused:
            document["paused"] = True
        ids = {self.address("campaign", name): campaign.id, self.address("adset", name): adset.id}
        objects = [campaign, adset]
        self.used |= {("campaign", campaign.id), ("adset", adset.id)}
        ads = await self.ads(campaign, adset, name, status, advertiser, overrides)
        document["creatives"] = [ad.creative for ad in ads]
        for ad in ads:
            ids[self.address("adcreative", f"{name}.{ad.creative}")] = ad.creative_row.id
            ids[self.address("ad", f"{name}.{ad.creative}")] = ad.row.id
            objects += [ad.creative_row, ad.row]
        if overrides:
            document["overrides"] = {"meta": overrides}
        needs = [("Advertiser", advertiser), *(("Creative", ad.creative) for ad in ads)]
        comment = f"Meta campaign {campaign.id} with ad set {adset.id}" + (
            f" and {len(ads)} ad(s)" if ads else " (no ads imported)"
        )
        self.out.units.append(Unit(document, ids=ids, objects=objects, needs=needs, comment=comment))

    def campaign_problem(self, campaign: Listed, adsets: list[Listed]) -> str:
        """Why a campaign cannot be a Campaign document, or ""."""
        row = campaign.row
        objective = str(row.get("objective") or "")
        if objective not in _OBJECTIVES:
            known = ", ".join(f"{o} ({n})" for o, (n, _) in _OBJECTIVES.items())
            return f"objective {objective or 'none'} is not one reconciler maps (it maps {known})"
        if _OBJECTIVES[objective][0] == "conversions":
            problem = self.conversion_problem(adsets)
            if problem:
                return problem
        if row.get("status") not in ("ACTIVE", "PAUSED"):
            return f"it is {str(row.get('status')).lower()}"
        if row.get("daily_budget") or row.get("lifetime_budget"):
            return "its budget is on the campaign (Advantage campaign budget); a Campaign document budgets its ad set"
        if len(adsets) != 1:
            return (
                f"it has {len(adsets)} ad sets; a Campaign document compiles to exactly one"
                if adsets
                else "it has no ad set; a Campaign document compiles to exactly one"
            )
        adset = adsets[0].row
        goal = _OBJECTIVES[objective][1]
        if adset.get("optimization_goal") != goal:
            return (
                f"its ad set optimises for {adset.get('optimization_goal')}, "
                f"not {goal} as objective {_OBJECTIVES[objective][0]} compiles to"
            )
        if adset.get("status") not in ("ACTIVE", "PAUSED"):
            return f"its ad set {adsets[0].id} is {str(adset.get('status')).lower()}"
        problem = _targeting_problem(adset.get("targeting"))
        if problem:
            return f"its ad set's targeting {problem}"
        try:
            start, end = _schedule(adset)
        except ValueError as exc:
            return f"its ad set's schedule cannot be read: {exc}"
        if start is None:
            return "its ad set has no start_time"
        if end is not None and end.date() < start.date():
            return "its ad set ends before it starts"
        if not (adset.get("daily_budget") or adset.get("lifetime_budget")):
            return "its ad set has no budget"
        if adset.get("lifetime_budget") and end is None:
            return "its ad set has a lifetime budget but no end_time"
        if not self.account.get("currency"):
            return "the ad account's currency is unknown (the account was not listed)"
        return ""

    def conversion_problem(self, adsets: list[Listed]) -> str:
        """A conversions campaign imports when the target names the pixel its one ad set optimises with."""
        pixel = getattr(self.target, "pixel_id", None)
        if not pixel:
            return CONVERSIONS_NOT_IMPORTED
        if len(adsets) != 1:
            return ""  # said by the ad set count check
        promoted = adsets[0].row.get("promoted_object")
        if not isinstance(promoted, dict) or set(promoted) != {"pixel_id", "custom_event_type"}:
            return "its ad set's promoted_object is not a pixel and an event, which a Campaign cannot express"
        if str(promoted["pixel_id"]) != str(pixel):
            return f"its ad set optimises with pixel {promoted['pixel_id']}, not the target's pixel_id {pixel}"
        if promoted["custom_event_type"] not in _EVENTS:
            known = ", ".join(sorted(_EVENTS))
            return f"its ad set optimises for {promoted['custom_event_type']}, which is not one of {known}"
        return ""

    def budget(self, adset: dict[str, Any]) -> dict[str, Any]:
        currency = str(self.account["currency"])
        key = "daily" if adset.get("daily_budget") else "lifetime"
        minor = Decimal(str(adset[f"{key}_budget"]))
        amount = minor if currency in ZERO_DECIMAL_CURRENCIES else minor / 100
        return {key: _money(amount), "currency": currency}

    # --- ads and their creatives ---

    async def ads(
        self,
        campaign: Listed,
        adset: Listed,
        name: str,
        status: str,
        advertiser: str,
        overrides: dict[str, dict[str, Any]],
    ) -> list[_Ad]:
        """The ads kept for the campaign's document, their creatives named; the rest skipped."""
        ads: list[_Ad] = []
        in_campaign: set[str] = set()
        for ad in self.children("ad", "adset_id", adset.id):
            creative_id = str((ad.row.get("creative") or {}).get("id") or "")
            creative_row = self.by_type["adcreative"].get(creative_id)
            if creative_row is None:
                why = "is managed by another spec" if ("adcreative", creative_id) in self.recorded else "is missing"
                self.skip(ad, f"its ad creative {creative_id or '(none)'} {why}")
                continue
            item = _Ad(ad, creative_row)
            try:
                item.skip = await self.name_creative(item, campaign, name, advertiser, in_campaign)
            except ProviderError as exc:
                item.skip = f"its image or video could not be downloaded: {exc}"
            if item.skip:
                self.skip(ad, item.skip)
                continue
            in_campaign.add(item.creative)
            ads.append(item)
        # Ads and their creatives are named CAMPAIGN.CREATIVE and have the campaign's status. Where
        # the live value differs for all, one per-campaign override holds the oldest ad's; where it
        # differs for some, a per-creative one (`creatives: {CREATIVE: {TYPE: {...}}}`) holds each.
        fields = (
            ("ad", "name", lambda a: a.row.row.get("name"), lambda a: f"{name}.{a.creative}"),
            ("adcreative", "name", lambda a: a.creative_row.row.get("name"), lambda a: f"{name}.{a.creative}"),
            ("ad", "status", lambda a: a.row.row.get("status"), lambda a: status),
        )
        for type_, key, live, default in fields:
            expected = {a.row.id: default(a) for a in ads}
            if all(live(a) == expected[a.row.id] for a in ads):
                continue
            if all(live(a) != expected[a.row.id] for a in ads):
                overrides.setdefault(type_, {})[key] = live(ads[0])
                expected = {a.row.id: live(ads[0]) for a in ads}
            for a in ads:
                if live(a) != expected[a.row.id]:
                    per_creative = overrides.setdefault(CREATIVE_OVERRIDES, {}).setdefault(a.creative, {})
                    per_creative.setdefault(type_, {})[key] = live(a)
        for a in ads:
            self.used |= {("ad", a.row.id), ("adcreative", a.creative_row.id)}
            creative = next(c for c in self.creatives if c.name == a.creative)
            creative.used = True
            creative.campaigns.add(campaign.id)
        return ads

    async def name_creative(
        self, ad: _Ad, campaign: Listed, campaign_name: str, advertiser: str, in_campaign: set[str]
    ) -> str:
        """Find or make the Creative document for an ad (ad.creative); the reason it cannot be, or ""."""
        spec = ad.creative_row.row.get("object_story_spec")
        if not isinstance(spec, dict):
            return "its ad creative has no object_story_spec (only object stories are imported)"
        if str(spec.get("page_id")) != str(self.target.page_id):
            page = spec.get("page_id")
            return f"its ad creative posts as page {page}, not as the target's page_id {self.target.page_id}"
        kinds = [k for k in ("link_data", "video_data", "photo_data", "template_data") if k in spec]
        if set(spec) - {"page_id", *kinds} or kinds not in (["link_data"], ["video_data"]):
            return "its ad creative is not a single-image link ad or a video ad"
        story = spec[kinds[0]]
        is_video = kinds[0] == "video_data"
        extra = set(story) - (_VIDEO_KEYS if is_video else _LINK_KEYS)
        if extra:
            return f"its ad creative's {kinds[0]} has {', '.join(sorted(extra))}, which a Creative cannot express"
        content = _content(story, is_video)
        if isinstance(content, str):
            return content
        media_id = str(story.get("video_id" if is_video else "image_hash") or "")
        upload_type = "advideo" if is_video else "adimage"
        if not media_id:
            return "its ad creative has no image" if not is_video else "its ad creative has no video"
        if (upload_type, media_id) in self.recorded:
            return (
                f"its {'video' if is_video else 'image'} is managed already, as creative "
                f"{self.recorded[(upload_type, media_id)]}; add the campaign to that spec instead"
            )
        upload = self.by_type[upload_type].get(media_id)
        if upload is None:
            return f"its {'video' if is_video else 'image'} {media_id} is missing"
        key = (upload_type, media_id, *content)
        # The name the ad's or its creative's name suggests (CAMPAIGN.CREATIVE), else the creative's
        # own name, else the upload's without its extension.
        prefix = f"{campaign_name}."
        suggested = next(
            (
                text.removeprefix(prefix)
                for text in (str(ad.row.row.get("name") or ""), str(ad.creative_row.row.get("name") or ""))
                if text.startswith(prefix) and is_spec_name(text.removeprefix(prefix))
            ),
            "",
        )
        if not suggested:
            upload_name = str(upload.row.get("title" if is_video else "name") or "")
            suggested = str(ad.creative_row.row.get("name") or "") or upload_name.rsplit(".", 1)[0]
        if is_video:
            # A video's title is its upload's name, which is the Creative's: it must already be one.
            title = str(upload.row.get("title") or "")
            same = next((c for c in self.creatives if c.upload.id == media_id), None)
            if same is not None:
                if same.key != key or same.name in in_campaign:
                    return f"its video is already imported as creative {same.name}, with other text or in this campaign"
                ad.creative = same.name
                return ""
            if not is_spec_name(title) or slugify(title) != title or not self.names.is_free("Creative", title):
                return (
                    f"its video's title {title!r} is not a free spec name, and the Creative's name is the "
                    "video's title: rename the video (lowercase letters, digits, '.', '_', '-') and import again"
                )
            suggested = title
        else:
            same = next(
                (c for c in self.creatives if c.key == key and c.name not in in_campaign and c.name == suggested),
                None,
            )
            if same is None:
                same = next((c for c in self.creatives if c.key == key and c.name not in in_campaign), None)
            if same is not None:
                ad.creative = same.name
                return ""
        data = await self.fetch(str(upload.row.get("source" if is_video else "url") or ""))
        media_type = media_format(data)
        if media_type is None or media_type not in SHOWABLE_FORMATS["meta"]:
            return f"its {'video' if is_video else 'image'} is in a format reconciler does not show on Meta"
        name = self.names.claim("Creative", suggested, f"creative-{ad.creative_row.id}")
        size, comment = _size(upload.row, data, is_video)
        document: dict[str, Any] = {
            "kind": "Creative",
            "name": name,
            "advertiser": advertiser,
            "format": media_type,
            "size": size,
            "asset": ASSET_REF + name + EXTENSIONS[media_type],
            **dict(zip(("click_url", "headline", "body", "call_to_action"), content, strict=True)),
        }
        document = {k: v for k, v in document.items() if v is not None}
        self.creatives.append(
            _Creative(name, key, document, upload, name + EXTENSIONS[media_type], data, comment=comment)
        )
        ad.creative = name
        return ""

    def creative_unit(self, creative: _Creative) -> Unit:
        upload = creative.upload
        ids = {self.address(upload.type, creative.name): upload.id}
        self.used.add((upload.type, upload.id))
        comment = f"Meta {'video' if upload.type == 'advideo' else 'image'} {upload.id}"
        if creative.comment:
            comment += f"; {creative.comment}"
        return Unit(
            creative.document,
            ids=ids,
            objects=[upload],
            needs=[("Advertiser", str(creative.document["advertiser"]))],
            assets={creative.asset_file: creative.data},
            comment=comment,
        )

    def orphans(self) -> None:
        """Ads, ad sets, creatives and uploads no imported campaign reaches: listed as skipped."""
        for type_ in ("adset", "ad", "adcreative", "adimage", "advideo"):
            for obj in sorted(self.by_type[type_].values(), key=_age):
                if (type_, obj.id) in self.used:
                    continue
                parent = {"adset": ("campaign", "campaign_id"), "ad": ("adset", "adset_id")}.get(type_)
                if parent and (parent[0], str(obj.row.get(parent[1]))) in self.recorded:
                    owner = self.recorded[(parent[0], str(obj.row.get(parent[1])))]
                    self.skip(obj, f"its {parent[0]} is managed already (as {owner}); declare it in that spec")
                elif type_ in ("adset", "ad"):
                    self.skip(obj, f"its {parent[0] if parent else 'parent'} was not listed")
                elif any(c.upload.id == obj.id for c in self.creatives):
                    continue  # an upload whose only ads were skipped: they carry the reason
                else:
                    # A Creative document is written with a campaign that shows it: alone it has no link.
                    self.skip(obj, "no imported ad shows it (creatives are imported with the ads that show them)")


async def map_objects(account: Account) -> Mapped:
    """Spec documents for Meta's listed objects (see reconciler/importer/model.py's PlatformImporter)."""
    return await _Importer(account).run()


def _age(obj: Listed) -> tuple[int, str]:
    """Oldest first: Graph ids grow with time."""
    return (int(obj.id), obj.id) if obj.id.isdigit() else (0, obj.id)


def _money(amount: Decimal) -> int | float:
    amount = amount.quantize(Decimal("0.01"))
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _parse_time(value: Any) -> dt.datetime | None:
    if value in (None, 0, "0", ""):
        return None
    text = str(value)
    when = dt.datetime.fromtimestamp(int(text), dt.UTC) if text.isdigit() else dt.datetime.fromisoformat(text)
    if when.tzinfo is None:
        raise ValueError(f"{text} has no UTC offset")
    return when.astimezone(dt.UTC)


def _schedule(adset: dict[str, Any]) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The ad set's start and end in UTC (the compiler writes whole days in +0000); no end is None."""
    return _parse_time(adset.get("start_time")), _parse_time(adset.get("end_time"))


def _targeting_problem(targeting: Any) -> str:
    """ "" when targeting is exactly what an audience compiles to: countries, age_min, age_max."""
    if not isinstance(targeting, dict):
        return "is missing"
    extra = set(targeting) - _TARGETING_KEYS
    if extra:
        return f"uses {', '.join(sorted(extra))}, which an audience cannot express (countries and ages only)"
    geo = targeting.get("geo_locations")
    if isinstance(geo, dict) and geo.get("location_types") in _DEFAULT_LOCATION_TYPES:
        geo = {k: v for k, v in geo.items() if k != "location_types"}  # Graph's default, added on read
    if not isinstance(geo, dict) or set(geo) != {"countries"}:
        return "locates by more than countries, which an audience cannot express"
    automation = targeting.get("targeting_automation", {"advantage_audience": 0})
    if not isinstance(automation, dict) or set(automation) != {"advantage_audience"}:
        return "uses targeting automation beyond the Advantage+ audience flag, which an audience cannot express"
    if automation["advantage_audience"] not in (0, 1) or isinstance(automation["advantage_audience"], bool):
        return "has an Advantage+ audience flag that is not 0 or 1"
    countries = geo["countries"]
    if not (isinstance(countries, list) and countries and all(isinstance(c, str) for c in countries)):
        return "has no countries"
    if any(len(c) != 2 or not c.isalpha() or not c.isupper() for c in countries):
        return "has a country that is not an ISO code"
    if "age_min" not in targeting:
        return "has no age_min (an audience always sets one, 18 by default)"
    ages = [targeting.get(k) for k in ("age_min", "age_max") if k in targeting]
    if any(isinstance(a, bool) or not isinstance(a, int) or not 13 <= a <= 65 for a in ages):
        return "has ages outside 13 to 65"
    if len(ages) == 2 and ages[1] < ages[0]:
        return "has age_max below age_min"
    return ""


def _audience(targeting: dict[str, Any]) -> dict[str, Any]:
    audience: dict[str, Any] = {"countries": list(targeting["geo_locations"]["countries"])}
    audience["age_min"] = targeting["age_min"]
    if "age_max" in targeting:
        audience["age_max"] = targeting["age_max"]
    if (targeting.get("targeting_automation") or {}).get("advantage_audience") == 1:
        audience["advantage_audience"] = True
    return audience


def _content(story: dict[str, Any], is_video: bool) -> tuple[Any, ...] | str:
    """(click_url, headline, body, call_to_action) of a link or video story, or why it has none."""
    action = story.get("call_to_action")
    link = story.get("link")
    if action is not None:
        if not (isinstance(action, dict) and set(action) == {"type", "value"} and isinstance(action["value"], dict)):
            return "its call to action is not a type with a link, which a Creative cannot express"
        if set(action["value"]) != {"link"} or (not is_video and action["value"]["link"] != link):
            return "its call to action links elsewhere than the ad, which a Creative cannot express"
        link = action["value"]["link"] if is_video else link
    if not isinstance(link, str) or not link.startswith(("http://", "https://")) or any(c.isspace() for c in link):
        return "it has no http(s) link, which a Creative needs as click_url"
    headline, body = story.get("title" if is_video else "name"), story.get("message")
    if headline is not None and (not isinstance(headline, str) or not headline.strip() or len(headline) > 255):
        return "its headline is not text of at most 255 characters"
    if body is not None and (not isinstance(body, str) or not body.strip() or len(body) > 2000):
        return "its text is not text of at most 2000 characters"
    if headline != (headline.strip() if isinstance(headline, str) else headline) or body != (
        body.strip() if isinstance(body, str) else body
    ):
        return "its headline or text starts or ends with spaces, which a spec cannot keep"
    cta = action["type"] if isinstance(action, dict) else None
    if cta is not None and not (isinstance(cta, str) and cta.replace("_", "").isalpha() and cta.isupper()):
        return f"its call to action {cta!r} is not a call to action type"
    return link, headline, body, cta


def _size(upload: dict[str, Any], data: bytes, is_video: bool) -> tuple[str, str]:
    """WIDTHxHEIGHT: Graph's width and height of an image, else the file's own header; a note when guessed."""
    width, height = upload.get("width"), upload.get("height")
    if not is_video and isinstance(width, int) and isinstance(height, int) and width > 0 and height > 0:
        return f"{width}x{height}", ""
    found = video_size(data) if is_video else image_size(data)
    if found and all(0 < n < 100_000 for n in found):
        return f"{found[0]}x{found[1]}", ""
    return _GUESSED_VIDEO_SIZE, f"size {_GUESSED_VIDEO_SIZE} is a guess: the file does not say"
