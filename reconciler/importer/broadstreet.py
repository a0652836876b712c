"""Broadstreet's live objects as spec documents: the reverse of compile.py's broadstreet(),
advertiser(), zones and placements.

What compile derives, and so what an import must reproduce exactly:
- advertiser: name = Advertiser.display_name (+ web_home_url), only through a campaign or creative;
- zone: name = Zone.display_name (+ alias);
- campaign: name = Campaign.name (or overrides {broadstreet: {name: ...}}), start/end dates, paused;
- advertisement: name = Creative.name (no override exists), static (an uploaded image + destination),
  text (default_text + destination) or html, only for the creatives some campaign lists;
- placement: its campaign, creative and zone, and restrictions; the creative must be among the
  campaign's creatives, of the campaign's own advertiser.
Anything else is listed as Skipped with the reason.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, get_args

from reconciler.importer.model import ASSET_REF, Account, Mapped, Skipped, Unit, is_spec_name, slugify
from reconciler.media import EXTENSIONS, media_format, pixel_size
from reconciler.model import make_address
from reconciler.providers.base import Listed, ProviderError
from reconciler.providers.broadstreet import PLACEMENT_KEYS, ad_type, restriction
from reconciler.spec.compile import SHOWABLE_FORMATS
from reconciler.spec.models import BroadstreetTarget, Placement

TYPES = ("advertiser", "zone", "campaign", "advertisement", "placement")

_URL = re.compile(r"^https?://[^\s]+$")  # the spec's HttpUrl
_ALIAS = re.compile(r"^[A-Za-z0-9._-]+$")  # the spec's Zone.alias
_RESTRICTIONS = frozenset(get_args(get_args(Placement.model_fields["restrictions"].annotation)[0]))
# The formats a Broadstreet static ad can be (compile's SHOWABLE_FORMATS less html and text).
_EXTENSIONS = {f: EXTENSIONS[f] for f in SHOWABLE_FORMATS["broadstreet"] if f in EXTENSIONS}
# A text ad has no size on Broadstreet, and the Creative model needs one; it is never sent there.
GUESSED_SIZE = "300x250"
# Why an html ad cannot be imported. Research platform-apis.md 1.4 (BS-JOM's v1 docs): an ad's
# `html` and `preview_html` come back as embed scripts (display/{id}.js), never as the markup it
# was created with, and v1 has no other read of it. A spec with a made-up `html` would plan clean
# (reconciler never reads `html` back), but the first replacement of the ad would publish it.
HTML_REASON = (
    "Broadstreet's API gives an html ad's markup back only as an embed script, so its content cannot "
    "be written into a spec; declare it as a Creative with format text/html and adopt it with "
    "`reconciler state import`"
)


@dataclass
class _Campaign:
    listed: Listed
    name: str
    advertiser_id: str
    document: dict[str, Any]
    creatives: list[str] = field(default_factory=list)  # spec names, in ad id order


async def map_objects(account: Account) -> Mapped:
    """Spec documents for a Broadstreet network's objects not yet recorded (see PlatformImporter)."""
    return await _Mapper(account).run()


class _Mapper:
    def __init__(self, account: Account) -> None:
        self.target: BroadstreetTarget = account.target
        self.recorded = account.recorded
        self.names = account.names
        self.fetch = account.fetch
        # Oldest first, so that a second import of the same account claims the same names.
        self.rows = {type_: sorted(account.listed.get(type_, []), key=lambda o: _id_order(o.id)) for type_ in TYPES}
        self.out = Mapped()
        self.new: dict[tuple[str, str], str] = {}  # (type, id) -> spec name of a document written now
        self.new_creatives: set[tuple[str, str]] = set()  # ("Creative", name) of the creatives written now

    # ------------------------------------------------------------ driver

    async def run(self) -> Mapped:
        self.zones()
        campaigns = self.campaigns()
        advertisers = self.advertisers(campaigns)
        creatives = await self.advertisements(campaigns, advertisers)
        for campaign in campaigns.values():
            self.emit_campaign(campaign, advertisers)
        self.placements(campaigns, creatives)
        return self.out

    def skip(self, obj: Listed, reason: str) -> None:
        self.out.skipped.append(Skipped(self.target.name, obj.type, obj.id, _name(obj.row), reason))

    def address(self, type_: str, name: str) -> str:
        return make_address(self.target.name, type_, name)

    def name_of(self, type_: str, id_: Any) -> str | None:
        """The spec name of a parent: written now, or recorded in the state already."""
        key = (type_, str(id_))
        return self.new.get(key) or self.recorded.get(key)

    def emit(self, obj: Listed, document: dict[str, Any], **extra: Any) -> Unit:
        unit = Unit(
            document=document,
            ids={self.address(obj.type, document["name"]): obj.id},
            objects=[obj],
            **extra,
        )
        self.new[(obj.type, obj.id)] = document["name"]
        self.out.units.append(unit)
        return unit

    # ------------------------------------------------------------ zones

    def zones(self) -> None:
        for obj in self.rows["zone"]:
            row = obj.row
            problem = _archived(row) or _display_name_problem(row.get("name"))
            alias = row.get("alias")
            if not problem and alias not in (None, "") and not (isinstance(alias, str) and _ALIAS.match(alias)):
                problem = f"its alias {alias!r} is not one a spec can hold (letters, digits, '.', '_', '-')"
            if problem:
                self.skip(obj, problem)
                continue
            name = self.names.claim("Zone", row["name"], f"zone-{obj.id}")
            document: dict[str, Any] = {"kind": "Zone", "name": name, "target": self.target.name}
            document["display_name"] = row["name"]
            if alias:
                document["alias"] = alias
            self.emit(obj, document, comment=f"Broadstreet zone {obj.id}")

    # ------------------------------------------------------------ campaigns

    def campaigns(self) -> dict[str, _Campaign]:
        """The campaigns that can be written, by id; their creatives are filled in later."""
        advertisers = {obj.id for obj in self.rows["advertiser"]}
        found: dict[str, _Campaign] = {}
        for obj in self.rows["campaign"]:
            row = obj.row
            advertiser_id = str(row.get("advertiser_id", ""))
            problem = _archived(row)
            live_name = row.get("name")
            if not problem and (not isinstance(live_name, str) or not live_name):
                problem = "it has no name"
            start, end = _date(row.get("start_date")), _date(row.get("end_date"))
            if not problem and start is None:
                problem = "it has no start date, which a spec campaign needs; give it one on Broadstreet"
            if not problem and row.get("end_date") not in (None, "") and end is None:
                problem = f"its end date {row.get('end_date')!r} is not a date"
            if not problem and start and end and end < start:
                problem = f"it ends ({end}) before it starts ({start})"
            if not problem and advertiser_id not in advertisers and ("advertiser", advertiser_id) not in self.recorded:
                problem = f"its advertiser {advertiser_id or '(none)'} is not in the network's list of advertisers"
            if problem:
                self.skip(obj, problem)
                continue
            assert isinstance(live_name, str) and start is not None
            name = self.names.claim("Campaign", live_name, f"campaign-{obj.id}")
            document: dict[str, Any] = {"kind": "Campaign", "name": name, "advertiser": "", "start_date": start}
            if end is not None:
                document["end_date"] = end
            document["targets"] = [self.target.name]
            document["creatives"] = []
            if _flag(row.get("paused")):
                document["paused"] = True
            if name != live_name:  # compile names the campaign after its spec name, unless overridden
                document["overrides"] = {"broadstreet": {"name": live_name}}
            found[obj.id] = _Campaign(obj, name, advertiser_id, document)
        return found

    def advertisers(self, campaigns: dict[str, _Campaign]) -> set[str]:
        """Write the new advertisers that campaigns need; the others cannot be expressed."""
        needed = {c.advertiser_id for c in campaigns.values()}
        written = set()
        for obj in self.rows["advertiser"]:
            row = obj.row
            if obj.id not in needed:
                self.skip(
                    obj,
                    "it has no campaign to import, and reconciler derives a Broadstreet advertiser only "
                    "through its campaigns; give it a campaign on Broadstreet and import again",
                )
                continue
            problem = _display_name_problem(row.get("name"))
            if problem:
                self.skip(obj, problem)
                for campaign in [c for c in campaigns.values() if c.advertiser_id == obj.id]:
                    self.skip(campaign.listed, f"its advertiser {obj.id} is not imported: {problem}")
                    del campaigns[campaign.listed.id]
                continue
            name = self.names.claim("Advertiser", row["name"], f"advertiser-{obj.id}")
            document: dict[str, Any] = {"kind": "Advertiser", "name": name, "display_name": row["name"]}
            url = row.get("web_home_url")
            comment = f"Broadstreet advertiser {obj.id}"
            if isinstance(url, str) and _URL.match(url):
                document["web_home_url"] = url
            elif url:
                comment += f"; its web_home_url {url!r} is not an http(s) URL, so it is left unmanaged"
            self.emit(obj, document, comment=comment)
            written.add(obj.id)
        return written

    def emit_campaign(self, campaign: _Campaign, advertisers: set[str]) -> None:
        document = campaign.document
        document["advertiser"] = self.name_of("advertiser", campaign.advertiser_id)
        needs = [("Creative", c) for c in document["creatives"] if ("Creative", c) in self.new_creatives]
        if campaign.advertiser_id in advertisers:
            needs.insert(0, ("Advertiser", document["advertiser"]))
        comment = f"Broadstreet campaign {campaign.listed.id}"
        if "overrides" in document:
            comment += " (its live name is kept through overrides)"
        self.emit(campaign.listed, document, needs=needs, comment=comment)

    # ------------------------------------------------------------ advertisements

    async def advertisements(self, campaigns: Mapping[str, _Campaign], advertisers: set[str]) -> dict[str, str]:
        """Write the ads that can join a campaign; returns ad id -> creative name."""
        placed: dict[str, list[str]] = {}  # ad id -> campaign ids it is placed in
        for obj in self.rows["placement"]:
            placed.setdefault(str(obj.row.get("advertisement_id")), []).append(str(obj.row.get("campaign_id")))
        written: dict[str, str] = {}
        for obj in self.rows["advertisement"]:
            row = obj.row
            advertiser_id = str(row.get("advertiser_id", ""))
            problem = self.ad_problem(obj)
            joins: list[_Campaign] = []
            if not problem:
                joins, problem = self.campaigns_of(obj, advertiser_id, placed.get(obj.id, []), campaigns)
            if not problem and advertiser_id not in advertisers and ("advertiser", advertiser_id) not in self.recorded:
                problem = f"its advertiser {advertiser_id} is not imported"
            content: dict[str, Any] = {}
            assets: dict[str, bytes] = {}
            comment = f"Broadstreet {ad_type(row.get('type'))} advertisement {obj.id}"
            if not problem:
                problem, content, assets, note = await self.content(obj, row["name"])
                comment += note
            if problem:
                self.skip(obj, problem)
                continue
            name = self.names.claim("Creative", row["name"], f"advertisement-{obj.id}")
            assert name == row["name"], "ad_problem checks that the live name is free and a spec name"
            advertiser = self.name_of("advertiser", advertiser_id) or ""
            document = {"kind": "Creative", "name": name, "advertiser": advertiser, **content}
            if "asset" in document:
                document["asset"] = ASSET_REF + next(iter(assets))
            needs = [("Advertiser", advertiser)] if advertiser_id in advertisers else []
            self.emit(obj, document, needs=needs, assets=assets, comment=comment)
            self.new_creatives.add(("Creative", name))
            written[obj.id] = name
            for campaign in joins:
                campaign.document["creatives"].append(name)
        return written

    def ad_problem(self, obj: Listed) -> str:
        row = obj.row
        kind = ad_type(row.get("type"))
        if kind == "html":
            return HTML_REASON
        if kind not in ("static", "text"):
            return f"its type {row.get('type')!r} is not one reconciler writes (static, text)"
        live = row.get("name")
        if not isinstance(live, str) or not live:
            return "it has no name"
        if not is_spec_name(live) or slugify(live) != live:
            base, n = slugify(live) or f"ad-{obj.id}", 1
            suggestion = base
            while not self.names.is_free("Creative", suggestion):
                n += 1
                suggestion = f"{base}-{n}"
            return (
                f"its name {live!r} is not a spec name (lowercase letters, digits, '.', '_', '-'), and reconciler "
                "names a Broadstreet advertisement after its Creative (an ad cannot be renamed in place); "
                f"rename it on Broadstreet, e.g. to {suggestion!r}, and import again"
            )
        if not self.names.is_free("Creative", live):
            return f"its name {live!r} is taken by another creative; rename one of them and import again"
        return ""

    def campaigns_of(
        self, obj: Listed, advertiser_id: str, placed_in: list[str], campaigns: Mapping[str, _Campaign]
    ) -> tuple[list[_Campaign], str]:
        """The campaigns whose creatives the ad joins (those it is placed in), or why there are none."""
        joins = [
            campaigns[c]
            for c in dict.fromkeys(placed_in)
            if c in campaigns and campaigns[c].advertiser_id == advertiser_id
        ]
        if joins:
            return joins, ""
        if not placed_in:
            # An ad placed nowhere still compiles within a campaign of its advertiser: the oldest one.
            own = [c for c in campaigns.values() if c.advertiser_id == advertiser_id]
            if own:
                return own[:1], ""
            return [], (
                "it is placed in no campaign and its advertiser has no campaign to import it with; a creative "
                "compiles only within a campaign"
            )
        recorded = [self.recorded[("campaign", c)] for c in placed_in if ("campaign", c) in self.recorded]
        if recorded:
            return [], (
                f"it is placed only in campaigns already in the specs ({', '.join(sorted(set(recorded)))}); "
                "add it to their creatives by hand, then `reconciler state import` it"
            )
        return [], (
            "none of the campaigns it is placed in can be imported with it (a spec campaign shows only "
            "its own advertiser's creatives)"
        )

    async def content(self, obj: Listed, name: str) -> tuple[str, dict[str, Any], dict[str, bytes], str]:
        """(problem, the Creative's content fields, its asset files, a note for the comment)."""
        row = obj.row
        destination = row.get("destination")
        if not isinstance(destination, str) or not _URL.match(destination) or destination != destination.strip():
            return (
                f"its destination {destination!r} is not an http(s) URL, and a Creative needs one as click_url",
                {},
                {},
                "",
            )
        if ad_type(row.get("type")) == "text":
            text = row.get("default_text")
            if not isinstance(text, str) or not text.strip() or text != text.strip():
                return f"its text {text!r} cannot be written as a Creative's text", {}, {}, ""
            fields = {"format": "text/plain", "size": GUESSED_SIZE, "text": text, "click_url": destination}
            note = f"; size {GUESSED_SIZE} is a guess: a text ad has none on Broadstreet, and it is never sent there"
            return "", fields, {}, note
        url = row.get("active_url") or (row.get("active") or {}).get("url")  # BS-JOM's list rows: active.url
        if not isinstance(url, str) or not url:
            return "it has no image URL (active_url) to download its image from", {}, {}, ""
        try:
            data = await self.fetch(url)
        except ProviderError as error:
            return f"its image could not be downloaded: {error.message}", {}, {}, ""
        media_type = media_format(data)
        if media_type not in _EXTENSIONS:
            return "its image is not a PNG, JPEG or GIF file, which is all a Broadstreet creative can be", {}, {}, ""
        size = pixel_size(data, media_type)
        if size is None:
            return f"the size of its {media_type} image cannot be read from the file", {}, {}, ""
        file_name = name + _EXTENSIONS[media_type]
        fields = {"format": media_type, "size": size, "asset": ASSET_REF + file_name, "click_url": destination}
        return "", fields, {file_name: data}, f"; size {size} from the image file"

    # ------------------------------------------------------------ placements

    def placements(self, campaigns: Mapping[str, _Campaign], creatives: Mapping[str, str]) -> None:
        written = {c.listed.id: c for c in campaigns.values()}
        for obj in self.rows["placement"]:
            row = obj.row
            campaign_id, ad_id, zone_id = (str(row.get(k)) for k in PLACEMENT_KEYS)
            campaign = written.get(campaign_id)
            creative = creatives.get(ad_id)
            zone = self.name_of("zone", zone_id)
            # One string ("phone"), however the API echoes it (a list of one, capitalised): the provider's reading.
            restrictions = restriction(row.get("restrictions"))
            if ("campaign", campaign_id) in self.recorded:
                problem = (
                    f"its campaign is already in the specs ({self.recorded[('campaign', campaign_id)]}); "
                    "add a Placement document for it by hand"
                )
            elif campaign is None:
                problem = f"its campaign {campaign_id} is not imported"
            elif ("advertisement", ad_id) in self.recorded:
                problem = (
                    f"its advertisement is already in the specs ({self.recorded[('advertisement', ad_id)]}); add it "
                    f"to campaign {campaign.name}'s creatives and a Placement document by hand"
                )
            elif creative is None:
                problem = f"its advertisement {ad_id} is not imported"
            elif creative not in campaign.document["creatives"]:
                problem = (
                    f"its advertisement {ad_id} belongs to another advertiser than campaign {campaign.name}, "
                    "and a spec campaign shows only its own advertiser's creatives"
                )
            elif zone is None:
                problem = f"its zone {zone_id} is not imported"
            elif restrictions is not None and restrictions not in _RESTRICTIONS:
                problem = (
                    f"its restrictions {restrictions!r} are not one of {', '.join(sorted(_RESTRICTIONS))} "
                    "(a spec placement has at most one)"
                )
            else:
                problem = ""
            if problem:
                self.skip(obj, problem)
                continue
            assert campaign is not None and creative is not None and zone is not None
            joined = f"{campaign.name}.{creative}.{zone}"
            name = self.names.claim("Placement", joined, f"placement-{campaign_id}-{ad_id}-{zone_id}")
            document: dict[str, Any] = {
                "kind": "Placement",
                "name": name,
                "campaign": campaign.name,
                "creative": creative,
                "zone": zone,
            }
            if restrictions:
                document["restrictions"] = [restrictions]
            needs = [("Campaign", campaign.name), ("Creative", creative)]
            if ("zone", zone_id) in self.new:
                needs.append(("Zone", zone))
            self.emit(obj, document, needs=needs, comment=f"Broadstreet placement {obj.id}")


# ---------------------------------------------------------------- helpers


def _name(row: Mapping[str, Any]) -> str:
    name = row.get("name")
    return name if isinstance(name, str) else ""


def _archived(row: Mapping[str, Any]) -> str:
    if _flag(row.get("archived")):
        return "it is archived on Broadstreet; unarchive it to import it"
    return ""


def _display_name_problem(value: Any) -> str:
    """Why a platform name cannot be a spec's display_name (1-255 characters, no outer spaces), or ''."""
    if not isinstance(value, str) or not value.strip():
        return "it has no name"
    if len(value) > 255:
        return "its name is longer than the 255 characters a spec's display_name holds"
    if value != value.strip():
        return f"its name {value!r} starts or ends with spaces, which a spec's display_name cannot keep"
    return ""


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "t", "yes")
    return bool(value)


def _date(value: Any) -> dt.date | None:
    """'2026-06-01' or '2026-06-01 00:00:00' (research 1.4) as a date; None when absent or not a date."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _id_order(id_: str) -> tuple[int, ...] | tuple[int, str]:
    """Numeric ids by value; placements ("C/A/Z") by their three numbers."""
    parts = id_.split("/")
    if all(p.isdigit() for p in parts):
        return (1, *(int(p) for p in parts))
    return (0, id_)
