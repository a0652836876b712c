"""Snapchat import: the reverse of reconciler/spec/compile.py's snapchat().

A campaign with exactly one ad squad becomes a Campaign document; the media its ads
show become Creative documents (the file downloaded from the media's download_link),
and one Advertiser document stands for the ad account, whose display_name[:25] is the
creatives' brand_name. Everything compile fixes (bid, placement, types, names derived
from the documents) is checked against the live objects: a difference the campaign's
`overrides` can reproduce goes there; one they cannot (two ads of one campaign with
different names: the advertiser name is one per target) is Skipped with the reason.

A media's name only labels it (ResourceType.labels): the Creative document's name is
derived from it, and where the two differ the media keeps its own.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from reconciler.importer.model import ASSET_REF, CONVERSIONS_NOT_IMPORTED, Account, Mapped, Skipped, Unit
from reconciler.media import media_format, pixel_size
from reconciler.model import make_address
from reconciler.providers.base import Listed, ProviderError
from reconciler.providers.snapchat import _attributes
from reconciler.spec.compile import (
    CREATIVE_OVERRIDES,
    SHOWABLE_FORMATS,
    SNAPCHAT_BID_NEEDED,
    SNAPCHAT_CALLS_TO_ACTION,
    SNAPCHAT_MIN_DAILY_BUDGET,
    SNAPCHAT_OBJECTIVES,
    SNAPCHAT_PIXEL_GOALS,
    _local_end,
    _local_start,
    _snapchat_time,
)

TYPES: tuple[str, ...] = ("campaign", "adsquad", "media", "creative", "ad")

# (campaign objective, ad squad optimization_goal) -> spec objective. Traffic and conversions
# share WEB_CONVERSION and differ by the goal.
OBJECTIVES = {pair: objective for objective, pair in SNAPCHAT_OBJECTIVES.items()}
OBJECTIVES |= {("WEB_CONVERSION", goal): "conversions" for goal in SNAPCHAT_PIXEL_GOALS.values()}

# Fields one may write (research 4.4) beside the parent ids, which compile sets from references.
# A live field in this list that compile does not produce goes to `overrides`, so an update
# (Snapchat's PUT replaces the object, UNCONFIRMED) keeps it. Other fields of a row are the
# platform's (read-only, or unknown to us) and are not managed.
WRITABLE = {
    "campaign": ("name", "status", "start_time", "end_time", "objective", "buy_model", "daily_budget_micro",
                 "lifetime_spend_cap_micro", "objective_v2_properties", "regulations", "measurement_spec"),
    "adsquad": ("name", "type", "status", "bid_strategy", "bid_micro", "billing_event", "optimization_goal",
                "pixel_id", "daily_budget_micro",
                "lifetime_budget_micro", "placement_v2", "targeting", "start_time", "end_time", "conversion_window",
                "child_ad_type", "forced_view_setting"),
    "creative": ("name", "type", "brand_name", "headline", "call_to_action", "web_view_properties", "shareable"),
    "ad": ("name", "type", "status"),
}  # fmt: skip

FORMAT_SUFFIXES = {"image/png": ".png", "image/jpeg": ".jpg", "video/mp4": ".mp4", "video/quicktime": ".mov"}
# A Snap ad is full-screen 9:16; used as a video's size when its header does not say (a guess).
GUESSED_VIDEO_SIZE = "1080x1920"
MISSING = object()


@dataclass
class _Shown:
    """A media as a Creative document, shared by every campaign that shows it."""

    name: str
    media: Listed
    document: dict[str, Any]
    assets: dict[str, bytes]
    comment: str
    used: bool = False


@dataclass
class _Ad:
    """One ad of a campaign being imported, with its creative and the document of its media."""

    ad: Listed
    creative: Listed
    shown: _Shown
    defaults: dict[str, dict[str, Any]] = field(default_factory=dict)  # type -> what compile would set


async def map_objects(account: Account) -> Mapped:
    """Spec documents for Snapchat's listed objects (see reconciler/importer/model.py's PlatformImporter)."""
    return await _Importer(account).run()


class _Importer:
    def __init__(self, given: Account) -> None:
        self.target = given.target
        self.account = str(given.target.ad_account_id)
        self.recorded = given.recorded
        self.names = given.names
        self.fetch = given.fetch
        self.out = Mapped()
        self.rows = {type_: {o.id: o for o in _oldest_first(given.listed.get(type_, []))} for type_ in TYPES}
        self.squads: dict[str, list[Listed]] = defaultdict(list)
        for squad in self.rows["adsquad"].values():
            self.squads[str(squad.row.get("campaign_id"))].append(squad)
        self.ads: dict[str, list[Listed]] = defaultdict(list)
        for ad in self.rows["ad"].values():
            self.ads[str(ad.row.get("ad_squad_id"))].append(ad)
        self.shown: dict[str, _Shown] = {}  # media id -> its Creative document
        self.media_problems: dict[str, str] = {}  # media id -> why it cannot be a Creative document
        self.creative_owner: dict[str, str] = {}  # creative id -> the ad id that shows it (one per campaign)
        self.advertiser = ""
        self.display_name = ""

    async def run(self) -> Mapped:
        self._choose_advertiser()
        self._skip_orphans()
        units = [unit for campaign in self.rows["campaign"].values() if (unit := await self._campaign(campaign))]
        creatives = [self._creative_unit(shown) for shown in self.shown.values() if shown.used]
        for media in self.rows["media"].values():
            shown = self.shown.get(media.id)
            if media.id in self.media_problems:
                self.skip(media, self.media_problems[media.id].replace(f"its media {media.id} ", "it ", 1))
            elif shown is None or not shown.used:
                self.skip(media, "shown by no ad that is imported (a Creative compiles only within a campaign)")
        shown_by = {str(ad.row.get("creative_id")) for ad in self.rows["ad"].values()}
        for creative in self.rows["creative"].values():
            if creative.id in self.creative_owner:
                continue
            if creative.id in shown_by:
                self.skip(creative, "the ads that show it are not imported")
            else:
                self.skip(creative, "used by no ad (Snapchat creatives cannot be deleted: old ones stay)")
        if units or creatives:
            self.out.units.append(self._advertiser_unit())
        self.out.units += creatives + units
        return self.out

    def skip(self, obj: Listed, reason: str) -> None:
        self.out.skipped.append(Skipped(self.target.name, obj.type, obj.id, str(obj.row.get("name") or ""), reason))

    # --- the advertiser ---

    def _choose_advertiser(self) -> None:
        """The brand name most creatives show (the oldest first on a tie) is the advertiser's display name.

        Campaigns whose creatives show another one carry it in their overrides.
        """
        shown = {str(ad.row.get("creative_id")) for ad in self.rows["ad"].values()}  # old versions do not count
        brands = Counter(
            str(c.row["brand_name"]).strip()
            for c in self.rows["creative"].values()
            if c.id in shown and isinstance(c.row.get("brand_name"), str) and 0 < len(c.row["brand_name"].strip()) <= 25
        )
        self.display_name = brands.most_common(1)[0][0] if brands else str(self.target.name)
        self.advertiser = self.names.claim("Advertiser", self.display_name, f"{self.target.name}-advertiser")

    def _advertiser_unit(self) -> Unit:
        document = {"kind": "Advertiser", "name": self.advertiser, "display_name": self.display_name}
        comment = (
            f"Snapchat has no advertiser object: this stands for ad account {self.account}. Its display_name[:25]\n"
            "is the brand_name of the creatives of campaigns that do not override it."
        )
        return Unit(document, comment=comment)

    # --- objects whose parent is not imported here ---

    def _skip_orphans(self) -> None:
        for squad in self.rows["adsquad"].values():
            parent = str(squad.row.get("campaign_id"))
            if parent not in self.rows["campaign"]:
                self.skip(squad, self._parent_reason("campaign", parent))
                for ad in self.ads.get(squad.id, []):
                    self.skip(ad, "its ad squad is not imported")
        for ad in self.rows["ad"].values():
            parent = str(ad.row.get("ad_squad_id"))
            if parent not in self.rows["adsquad"]:
                self.skip(ad, self._parent_reason("adsquad", parent))

    def _parent_reason(self, type_: str, id_: str) -> str:
        name = self.recorded.get((type_, id_))
        if name is not None:
            return (
                f"its {type_} {id_} is managed already (resource {name}): add what it holds to that spec by hand, "
                "or `reconciler state import` it"
            )
        return f"its {type_} {id_} is not among the account's live objects (deleted?)"

    def _skip_children(self, campaign: Listed, reason: str) -> None:
        self.skip(campaign, reason)
        for squad in self.squads.get(campaign.id, []):
            self.skip(squad, "its campaign is not imported")
            for ad in self.ads.get(squad.id, []):
                self.skip(ad, "its campaign is not imported")

    # --- campaigns ---

    async def _campaign(self, campaign: Listed) -> Unit | None:
        squads = self.squads.get(campaign.id, [])
        if len(squads) != 1:
            if not squads:
                self._skip_children(campaign, "has no ad squad: a Campaign document compiles to one campaign with one")
            else:
                self._skip_children(
                    campaign, f"has {len(squads)} ad squads: a Campaign document compiles to one campaign with one"
                )
            return None
        [squad] = squads
        try:
            document, compiled = self._campaign_document(campaign.row, squad.row)
        except _Inexpressible as exc:
            self._skip_children(campaign, str(exc))
            return None
        name = document["name"]
        overrides: dict[str, dict[str, Any]] = {}
        for type_, row in (("campaign", campaign.row), ("adsquad", squad.row)):
            overrides[type_] = _overrides_for(type_, row, compiled[type_])
            if type_ == "adsquad" and row.get("bid_strategy") not in SNAPCHAT_BID_NEEDED:
                overrides[type_].pop("bid_micro", None)  # no cap (AUTO_BID): a bid read back means nothing
            compiled[type_] |= overrides[type_]
            if _attributes(type_, row, compiled[type_]) != compiled[type_]:  # a safety net: should not happen
                self._skip_children(campaign, f"its {type_} cannot be reproduced exactly by a spec")
                return None

        status = "PAUSED" if document.get("paused") else "ACTIVE"  # compile's, for the squad's ads too
        ads = await self._ads_of(squad, name, status)
        per_creative: dict[str, dict[str, dict[str, Any]]] = {}
        for type_ in ("creative", "ad"):
            overrides[type_], own, ads = self._shared_fields(type_, ads)
            for creative, fields in own.items():
                per_creative.setdefault(creative, {})[type_] = fields
        shown_names = []
        ids = {
            make_address(self.target.name, "campaign", name): campaign.id,
            make_address(self.target.name, "adsquad", name): squad.id,
        }
        objects = [campaign, squad]
        for planned in ads:
            planned.shown.used = True
            self.creative_owner[planned.creative.id] = planned.ad.id
            shown_names.append(planned.shown.name)
            resource = f"{name}.{planned.shown.name}"
            ids[make_address(self.target.name, "creative", resource)] = planned.creative.id
            ids[make_address(self.target.name, "ad", resource)] = planned.ad.id
            objects += [planned.creative, planned.ad]
        document["creatives"] = shown_names
        kept: dict[str, Any] = {type_: fields for type_, fields in overrides.items() if fields}
        if own_fields := {c: fields for c, fields in per_creative.items() if c in shown_names}:
            kept[CREATIVE_OVERRIDES] = own_fields
        if kept:
            document["overrides"] = {"snapchat": kept}
        needs = [("Advertiser", self.advertiser), *(("Creative", n) for n in shown_names)]
        comment = f"Snapchat campaign {campaign.id} with ad squad {squad.id}"
        if "targeting" in overrides["adsquad"]:
            comment += "\nThe ad squad's targeting is kept as it is in overrides: the audience cannot say all of it."
        return Unit(document, ids, objects, needs, comment=comment)

    def _campaign_document(
        self, campaign: dict[str, Any], squad: dict[str, Any]
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """The Campaign document, and what compile makes of it for the campaign and the squad."""
        pair = (campaign.get("objective"), squad.get("optimization_goal"))
        objective = OBJECTIVES.get(pair)  # type: ignore[arg-type]
        if objective is None:
            raise _Inexpressible(
                f"objective {pair[0]} with optimization goal {pair[1]} is none of the spec's objectives "
                f"({', '.join(f'{k}: {v[0]}/{v[1]}' for k, v in SNAPCHAT_OBJECTIVES.items())})"
            )
        if objective == "conversions":
            raise _Inexpressible(CONVERSIONS_NOT_IMPORTED)
        budget, budget_field = _budget(squad)
        zone = self.target.timezone  # flights are days in the account's time zone, as compile makes them
        start = _day(campaign.get("start_time"), zone)
        if start is None:
            raise _Inexpressible(f"its start_time {campaign.get('start_time')!r} is not an ISO 8601 time")
        end_time = campaign.get("end_time") or squad.get("end_time")
        end = _day(end_time, zone) if end_time else None
        if end_time and end is None:
            raise _Inexpressible(f"its end_time {end_time!r} is not an ISO 8601 time")
        if end is not None and end < start:
            raise _Inexpressible(f"it ends ({end}) before it starts ({start})")
        if "lifetime" in budget and end is None:
            raise _Inexpressible("it has a lifetime budget but no end time")
        audience = _audience(squad.get("targeting"))
        paused = campaign.get("status") == "PAUSED"
        name = self.names.claim("Campaign", str(campaign.get("name") or ""), f"campaign-{str(campaign['id'])[:8]}")
        document: dict[str, Any] = {
            "kind": "Campaign",
            "name": name,
            "advertiser": self.advertiser,
            "start_date": start,
            **({"end_date": end} if end is not None else {}),
            "targets": [self.target.name],
            "creatives": [],
            "budget": budget,
            "objective": objective,
            "audience": audience,
            **({"paused": True} if paused else {}),
        }
        # What compile.py's snapchat() makes of that document (refs resolved to the live ids).
        status = "PAUSED" if paused else "ACTIVE"
        goal = SNAPCHAT_OBJECTIVES[objective][1]
        times = {"start_time": _snapchat_time(_local_start(start, self.target))}
        if end is not None:
            times["end_time"] = _snapchat_time(_local_end(end, self.target))
        # compile's bidding: no cap, unless a bid_micro is overridden (then a max bid, its default strategy)
        capped = squad.get("bid_strategy") in SNAPCHAT_BID_NEEDED and isinstance(squad.get("bid_micro"), int)
        bidding = {"bid_strategy": "LOWEST_COST_WITH_MAX_BID" if capped else "AUTO_BID"}
        compiled_campaign = {
            "ad_account_id": self.account, "name": name, "status": status, "objective": pair[0],
            "buy_model": "AUCTION", **times,
        }  # fmt: skip
        compiled_squad = {
            "name": name, "type": "SNAP_ADS", "status": status, "billing_event": "IMPRESSION",
            "optimization_goal": goal, **bidding, "placement_v2": {"config": "AUTOMATIC"}, **times,
            budget_field: squad[budget_field], "currency": budget["currency"],
            "targeting": _targeting(audience), "campaign_id": str(campaign["id"]),
        }  # fmt: skip
        return document, {"campaign": compiled_campaign, "adsquad": compiled_squad}

    # --- ads, their creatives and media ---

    async def _ads_of(self, squad: Listed, campaign_name: str, status: str) -> list[_Ad]:
        """The squad's ads that can be shown by a Creative document, each media once per campaign."""
        planned: list[_Ad] = []
        seen_media: dict[str, str] = {}
        for ad in self.ads.get(squad.id, []):
            try:
                creative, shown = await self._shown_by(ad)
            except _Inexpressible as exc:
                self.skip(ad, str(exc))
                continue
            if shown.media.id in seen_media:
                self.skip(ad, f"shows the same media as ad {seen_media[shown.media.id]} of its campaign: "
                              "a campaign shows each Creative once")  # fmt: skip
                continue
            if creative.id in self.creative_owner or any(p.creative.id == creative.id for p in planned):
                self.skip(ad, f"shares creative {creative.id} with another ad: reconciler makes one per campaign")
                continue
            seen_media[shown.media.id] = ad.id
            resource = f"{campaign_name}.{shown.name}"
            document = shown.document
            defaults = {
                "creative": {
                    "name": resource,
                    "type": "WEB_VIEW",
                    "brand_name": self.display_name[:25],
                    "headline": (document.get("headline") or document["name"])[:34],
                    "call_to_action": document.get("call_to_action") or "MORE",
                    "web_view_properties": {"url": document["click_url"]},
                },
                "ad": {"name": resource, "type": "REMOTE_WEBPAGE", "status": status},
            }
            planned.append(_Ad(ad, creative, shown, defaults))
        return planned

    async def _shown_by(self, ad: Listed) -> tuple[Listed, _Shown]:
        creative_id = str(ad.row.get("creative_id"))
        creative = self.rows["creative"].get(creative_id)
        if creative is None:
            raise _Inexpressible(self._missing("creative", creative_id))
        row = creative.row
        if row.get("type") != "WEB_VIEW":
            raise _Inexpressible(
                f"its creative {creative_id} is a {row.get('type')} creative; reconciler makes WEB_VIEW ones"
            )
        url = (row.get("web_view_properties") or {}).get("url")
        if not isinstance(url, str) or not url.strip().startswith(("http://", "https://")) or " " in url.strip():
            raise _Inexpressible(f"its creative {creative_id} has no http(s) web view URL to click through to")
        media_id = str(row.get("top_snap_media_id"))
        media = self.rows["media"].get(media_id)
        if media is None:
            raise _Inexpressible(self._missing("media", media_id))
        if media_id in self.media_problems:
            raise _Inexpressible(self.media_problems[media_id])
        shown = self.shown.get(media_id)
        if shown is None:
            try:
                shown = await self._document_of(media, row)
            except _Inexpressible as exc:
                self.media_problems[media_id] = str(exc)
                raise
            self.shown[media_id] = shown
        return creative, shown

    def _missing(self, type_: str, id_: str) -> str:
        name = self.recorded.get((type_, id_))
        if name is not None:
            return f"its {type_} {id_} is managed already (resource {name}); reconciler makes one per campaign"
        return f"its {type_} {id_} is missing (not among the account's live objects)"

    async def _document_of(self, media: Listed, creative: dict[str, Any]) -> _Shown:
        """The Creative document of a media, from the first creative that shows it."""
        row = media.row
        if row.get("type") not in ("IMAGE", "VIDEO"):
            raise _Inexpressible(f"its media {media.id} is a {row.get('type')}; reconciler shows images and videos")
        link = row.get("download_link")
        if row.get("media_status") != "READY" or not isinstance(link, str):
            raise _Inexpressible(f"its media {media.id} has no file (status {row.get('media_status')})")
        try:
            data = await self.fetch(link)
        except ProviderError as exc:
            raise _Inexpressible(f"the file of its media {media.id} could not be downloaded: {exc.message}") from None
        format_ = media_format(data)
        if format_ is None or format_ not in SHOWABLE_FORMATS["snapchat"]:
            raise _Inexpressible(f"the file of its media {media.id} is not a PNG, JPEG, MP4 or QuickTime file")
        if ("VIDEO" if format_.startswith("video/") else "IMAGE") != row.get("type"):
            raise _Inexpressible(f"its media {media.id} is of type {row.get('type')} but holds a {format_} file")
        size = pixel_size(data, format_)
        comment = f"Snapchat media {media.id}"
        if size is None:
            size = GUESSED_VIDEO_SIZE if format_.startswith("video/") else "1x1"
            comment += f"\nsize {size} is a guess: the file's header does not say"
        # The media keeps its own name: a media's name only labels it (ResourceType.labels), so the
        # compiled name (the document's) differing from it changes nothing.
        label = str(row.get("name") or "")
        name = self.names.claim("Creative", _without_suffix(label), f"media-{media.id[:8]}")
        if name != label:
            comment += f"\nnamed {label!r} on Snapchat, a label reconciler leaves as it is"
        file_name = name + FORMAT_SUFFIXES[format_]
        document: dict[str, Any] = {
            "kind": "Creative", "name": name, "advertiser": self.advertiser, "format": format_, "size": size,
            "asset": ASSET_REF + file_name, "click_url": str(creative["web_view_properties"]["url"]).strip(),
        }  # fmt: skip
        headline = creative.get("headline")
        if isinstance(headline, str) and headline.strip():
            document["headline"] = headline.strip()
        call_to_action = creative.get("call_to_action")
        if isinstance(call_to_action, str) and re.fullmatch(r"[A-Z_]+", call_to_action):
            if call_to_action not in SNAPCHAT_CALLS_TO_ACTION["WEB_VIEW"]:
                raise _Inexpressible(
                    f"its creative's call_to_action {call_to_action} is none reconciler knows for a WEB_VIEW "
                    "creative (the list is UNCONFIRMED)"
                )
            document["call_to_action"] = call_to_action
        return _Shown(name, media, document, {file_name: data}, comment)

    def _creative_unit(self, shown: _Shown) -> Unit:
        ids = {make_address(self.target.name, "media", shown.name): shown.media.id}
        return Unit(shown.document, ids, [shown.media], [("Advertiser", self.advertiser)], shown.assets, shown.comment)

    def _shared_fields(self, type_: str, ads: list[_Ad]) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[_Ad]]:
        """The overrides of `type_` that reproduce the campaign's ads: per campaign, per creative
        (by creative name), and the ads they can reproduce.

        A field every ad agrees on (or leaves out) is reproduced; where they disagree, the value
        most ads share wins for the campaign (compile's own when that keeps as many), and each other
        ad keeps its own through a per-creative override; an ad that leaves the field out where the
        others have it cannot say so in an override, and is skipped.
        """
        overrides: dict[str, Any] = {}
        own: dict[str, dict[str, Any]] = {}
        for name in WRITABLE[type_]:
            rows = [(planned, _row_of(planned, type_)) for planned in ads]
            if all(_agrees(type_, row, name, planned.defaults[type_].get(name, MISSING)) for planned, row in rows):
                continue
            candidates = [row[name] for _, row in rows if name in row]
            best = max(candidates, key=lambda v: sum(_agrees(type_, r, name, v) for _, r in rows), default=MISSING)
            by_default = sum(_agrees(type_, row, name, p.defaults[type_].get(name, MISSING)) for p, row in rows)
            by_best = sum(_agrees(type_, row, name, best) for _, row in rows)
            kept = []
            for planned, row in rows:
                wanted = best if by_best > by_default else planned.defaults[type_].get(name, MISSING)
                if _agrees(type_, row, name, wanted):
                    kept.append(planned)
                elif name in row:
                    own.setdefault(planned.shown.name, {})[name] = row[name]
                    kept.append(planned)
                else:
                    shown = "none" if wanted is MISSING else repr(wanted)
                    self.skip(
                        planned.ad,
                        f"its {type_} {name} is {row.get(name)!r} where the campaign's other ads have {shown}: "
                        "an override can set a field, not leave it out",
                    )
            if by_best > by_default:
                overrides[name] = best
            ads = kept
        for planned in list(ads):
            compiled = {
                **_base(self.account, type_, planned),
                **planned.defaults[type_],
                **overrides,
                **own.get(planned.shown.name, {}),
            }
            row = _row_of(planned, type_)
            if _attributes(type_, row, compiled) != compiled:  # a safety net: should not happen
                self.skip(planned.ad, f"its {type_} cannot be reproduced exactly by a spec")
                ads.remove(planned)
        return overrides, own, ads


class _Inexpressible(Exception):
    """Why an object cannot be written as a spec."""


def _oldest_first(objects: list[Listed]) -> list[Listed]:
    """By created_at; objects made in the same millisecond keep the list's order (the sort is stable)."""
    return sorted(objects, key=lambda o: str(o.row.get("created_at") or ""))


def _row_of(planned: _Ad, type_: str) -> dict[str, Any]:
    return planned.creative.row if type_ == "creative" else planned.ad.row


def _base(account: str, type_: str, planned: _Ad) -> dict[str, Any]:
    """The reference fields compile sets (resolved to the live ids they point at)."""
    if type_ == "creative":
        return {"ad_account_id": account, "top_snap_media_id": planned.shown.media.id}
    return {"ad_squad_id": str(planned.ad.row.get("ad_squad_id")), "creative_id": planned.creative.id}


def _agrees(type_: str, row: dict[str, Any], name: str, value: Any) -> bool:
    """Whether a live row reads back as `value` for one field (MISSING: compile leaves it out).

    A field the row leaves out reads back as whatever was recorded, so it agrees with anything.
    """
    if name not in row:
        return True
    if value is MISSING:
        return False
    if isinstance(row[name], dict | list):
        # Exactly: reading back compares only the keys we set, but an update sends the whole object,
        # and what the spec leaves out (interests in a targeting) would be lost.
        return bool(_as_sent(type_, name, row[name]) == value)
    return _attributes(type_, row, {name: value}).get(name, MISSING) == value


def _overrides_for(type_: str, row: dict[str, Any], compiled: dict[str, Any]) -> dict[str, Any]:
    """Every writable live field that compile would not make as it is."""
    return {
        name: _as_sent(type_, name, row[name])
        for name in WRITABLE[type_]
        if name in row and row[name] is not None and not _agrees(type_, row, name, compiled.get(name, MISSING))
    }


def _as_sent(type_: str, name: str, value: Any) -> Any:
    """A live value without the defaults Snapchat writes into it, which an update need not send.

    An ad squad's targeting reads back with `regulated_content: false` and `operation: INCLUDE` on each
    geo (Snap's breaking-changes log example); left out, the server puts them back.
    """
    if type_ != "adsquad" or name != "targeting" or not isinstance(value, dict):
        return value
    targeting = _without(value, "regulated_content", False)
    if isinstance(targeting.get("geos"), list):
        targeting["geos"] = [_without(geo, "operation", "INCLUDE") for geo in targeting["geos"]]
    return targeting


def _without(value: Any, key: str, default: Any) -> Any:
    """A dict without `key` where it holds `default` (of the same type: False is not 0); anything else as it is."""
    if not isinstance(value, dict) or key not in value:
        return value
    held = value[key]
    return value if type(held) is not type(default) or held != default else {k: v for k, v in value.items() if k != key}


def _budget(squad: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The Campaign's budget from the squad's micro-currency amount, in the ad account's currency."""
    given = [key for key in ("daily_budget_micro", "lifetime_budget_micro") if isinstance(squad.get(key), int)]
    if len(given) != 1:
        raise _Inexpressible("its ad squad has no budget (or two): a Campaign has one, daily or lifetime")
    [key] = given
    currency = squad.get("currency")
    if not isinstance(currency, str) or len(currency) != 3 or not currency.isupper():
        raise _Inexpressible("the ad account's currency is unknown")
    amount = Decimal(squad[key]) / 1_000_000
    if amount != amount.quantize(Decimal("0.01")):
        raise _Inexpressible(f"its budget {amount} {currency} has more than 2 decimals")
    if key == "daily_budget_micro" and amount < SNAPCHAT_MIN_DAILY_BUDGET:
        raise _Inexpressible(f"its daily budget {amount} {currency} is below Snapchat's minimum the specs enforce")
    number: int | float = int(amount) if amount == amount.to_integral_value() else float(amount)
    return {key.removesuffix("_budget_micro"): number, "currency": currency}, key


def _day(value: Any, zone: str) -> dt.date | None:
    """The day of an ISO 8601 time in the ad account's time zone (a time without zone is UTC)."""
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(zoneinfo.ZoneInfo(zone)).date()


def _audience(targeting: Any) -> dict[str, Any]:
    """The spec audience closest to an ad squad's targeting: its countries and ages.

    Where the targeting says more (regions, interests, genders...), the squad's overrides keep
    it exactly; an audience needs at least one country.
    """
    if not isinstance(targeting, dict):
        raise _Inexpressible("its ad squad has no targeting: a Campaign's audience needs at least one country")
    countries = []
    for geo in targeting.get("geos") or []:
        code = geo.get("country_code") if isinstance(geo, dict) else None
        if isinstance(code, str) and len(code) == 2 and code.isalpha() and code.upper() not in countries:
            countries.append(code.upper())
    if not countries:
        raise _Inexpressible("its ad squad targets no country: a Campaign's audience needs at least one")
    audience: dict[str, Any] = {"countries": countries, "age_min": 18}
    demographics = targeting.get("demographics") or []
    first = demographics[0] if demographics and isinstance(demographics[0], dict) else {}
    low, high = first.get("min_age"), first.get("max_age")
    if isinstance(low, int) and 13 <= low <= 65:
        audience["age_min"] = low
    if isinstance(high, int) and audience["age_min"] <= high <= 65:
        audience["age_max"] = high
    return audience


def _targeting(audience: dict[str, Any]) -> dict[str, Any]:
    """compile.py's _snapchat_targeting of that audience."""
    demographics: dict[str, Any] = {"min_age": audience["age_min"]}
    if "age_max" in audience:
        demographics["max_age"] = audience["age_max"]
    return {"geos": [{"country_code": c.lower()} for c in audience["countries"]], "demographics": [demographics]}


def _without_suffix(name: str) -> str:
    """'Spring banner.PNG' -> 'Spring banner': the file's extension is not part of a spec name."""
    stem, dot, suffix = name.rpartition(".")
    return stem if dot and stem and f".{suffix.lower()}" in (*FORMAT_SUFFIXES.values(), ".jpeg") else name
