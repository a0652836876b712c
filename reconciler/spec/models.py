"""Pydantic models, one per spec kind (the reference is docs/, checked against these by tests/test_docs.py).

These check each document on its own (types, formats, unknown fields).
Checks across documents (references, duplicates) live in validate.py.
The docstring under each field is its description in the JSON Schema (schema.py reads them), which
editors show; every field has one (tests/test_docs.py).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from reconciler.timezones import check_time_zone

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=128)]
HttpUrl = Annotated[str, Field(pattern=r"^https?://[^\s]+$")]

FORMATS = (
    "image/png",
    "image/jpeg",
    "image/gif",
    "video/mp4",
    "video/quicktime",
    "text/html",
    "text/plain",
)
Format = Literal["image/png", "image/jpeg", "image/gif", "video/mp4", "video/quicktime", "text/html", "text/plain"]
Objective = Literal["awareness", "traffic", "engagement", "conversions"]
# What a conversions campaign optimises for; each platform maps it to its own event (compile.py).
ConversionEvent = Literal[
    "PURCHASE", "LEAD", "ADD_TO_CART", "COMPLETE_REGISTRATION", "INITIATE_CHECKOUT", "VIEW_CONTENT"
]
Platform = Literal["broadstreet", "meta", "tiktok", "snapchat"]


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


# Each kind narrows `kind` to its own Literal; they share one description.
KIND = Field(description="What this document declares; it decides which fields the document takes.")


class Document(SpecModel):
    kind: str
    name: Name
    """This document's name, unique per kind; other documents refer to it by this name."""
    labels: dict[str, str] = {}
    """Free-form key/value metadata; never sent to a platform. A Campaign's labels are what a Policy's
    scope.labels matches."""


# ---------------------------------------------------------------- targets


class TokenCredentials(SpecModel):
    """Names of environment variables holding the secrets, never the secrets themselves."""

    token_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    """Name of the environment variable that holds the API access token (e.g. META_ACCESS_TOKEN)."""


class SnapchatCredentials(SpecModel):
    """Names of environment variables for Snapchat's OAuth refresh grant, never the secrets themselves."""

    refresh_token_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    """Name of the environment variable that holds the OAuth refresh token."""
    client_id_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    """Name of the environment variable that holds the OAuth app's client id."""
    client_secret_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    """Name of the environment variable that holds the OAuth app's client secret."""
    token_env: Annotated[str | None, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = None
    """Optional: name of an environment variable holding a ready access token, used until it is refused."""


class TargetBase(Document):
    kind: Annotated[Literal["Target"], KIND]
    api_base_url: HttpUrl | None = None
    """The API's base URL, to reach a proxy or `reconciler sandbox serve`; default: the platform's own API."""
    concurrency: Annotated[int, Field(ge=1, le=256)] | None = None
    """Calls in flight at once on this target (1-256); default 4. --parallelism caps all targets together."""
    rate_limit: Annotated[float, Field(gt=0, le=10_000)] | None = None
    """Requests per second sent to this target, at most; default: Broadstreet, TikTok, Snapchat 10, Meta 20."""


class BroadstreetTarget(TargetBase):
    """A Broadstreet network (the ad server)."""

    platform: Literal["broadstreet"]
    """The platform: broadstreet, meta, tiktok or snapchat; it decides the target's other fields."""
    network_id: Annotated[int, Field(gt=0)]
    """The Broadstreet network id (a positive integer); advertisers and zones are created in it."""
    credentials: TokenCredentials
    """The environment variable with the Broadstreet API token (sent as access_token)."""


TimeZone = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(check_time_zone)]
PixelId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class AdPlatformTarget(TargetBase):
    """A Meta, TikTok or Snapchat ad account: flights run in its time zone; conversions need its pixel."""

    timezone: TimeZone = "UTC"
    """The ad account's IANA time zone (e.g. America/New_York); campaign days start and end there. Checked
    against the account before the first write."""
    pixel_id: PixelId | None = None
    """The ad account's pixel id; needed by campaigns with objective: conversions on this target."""

    @field_validator("pixel_id", mode="before")
    @classmethod
    def _pixel_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class MetaTarget(AdPlatformTarget):
    """A Meta (Facebook, Instagram) ad account, through the Graph API."""

    platform: Literal["meta"]
    """The platform: broadstreet, meta, tiktok or snapchat; it decides the target's other fields."""
    ad_account_id: Annotated[str, Field(pattern=r"^act_[0-9]+$")]
    """The ad account id with its act_ prefix (act_1234567890)."""
    page_id: Annotated[str, Field(pattern=r"^[0-9]+$")]
    """The Facebook page the ads are published as (digits; quote it in YAML)."""
    credentials: TokenCredentials
    """The environment variable with the Graph API access token."""

    @field_validator("page_id", mode="before")
    @classmethod
    def _page_id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class TikTokTarget(AdPlatformTarget):
    """A TikTok advertiser account, through the Business API."""

    platform: Literal["tiktok"]
    """The platform: broadstreet, meta, tiktok or snapchat; it decides the target's other fields."""
    advertiser_id: Annotated[str, Field(pattern=r"^[0-9]+$")]
    """The TikTok advertiser id (digits; quote it in YAML)."""
    identity_id: Annotated[str, Field(min_length=1)]
    """The identity (a custom user) the ads are shown as."""
    credentials: TokenCredentials
    """The environment variable with the Business API access token (sent as Access-Token)."""

    @field_validator("advertiser_id", "identity_id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class SnapchatTarget(AdPlatformTarget):
    """A Snapchat ad account, through the Marketing API."""

    platform: Literal["snapchat"]
    """The platform: broadstreet, meta, tiktok or snapchat; it decides the target's other fields."""
    ad_account_id: Annotated[str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    """The ad account id, a lowercase UUID."""
    credentials: SnapchatCredentials
    """The environment variables of the OAuth refresh grant."""
    auth_url: HttpUrl | None = None
    """The OAuth token endpoint; default https://accounts.snapchat.com/login/oauth2/access_token."""


Target = Annotated[BroadstreetTarget | MetaTarget | TikTokTarget | SnapchatTarget, Field(discriminator="platform")]

# ---------------------------------------------------------------- the rest


class Lifecycle(SpecModel):
    """What a plan may do to the objects derived from this document."""

    # enforced in plan/lifecycle.py
    prevent_destroy: bool = False
    """true: refuse any plan that deletes, pauses as a delete, or replaces what this document derives."""


class DeletableLifecycle(Lifecycle):
    """What a plan may do to the objects derived from this document, and what removing it does."""

    on_delete: Literal["pause", "delete"] | None = None
    """What removing it from the specs does on Meta, TikTok and Snapchat: pause (the default: the object
    keeps its reporting) or delete (irreversible). Broadstreet always deletes."""


class Advertiser(Document):
    kind: Annotated[Literal["Advertiser"], KIND]
    lifecycle: Lifecycle = Lifecycle()
    """What a plan may do to what this document derives."""
    display_name: Annotated[str, Field(min_length=1, max_length=255)]
    """The advertiser's name as Broadstreet shows it (1-255 characters); Snapchat's brand name is its first 25."""
    web_home_url: HttpUrl | None = None
    """The advertiser's website (http or https), sent to Broadstreet."""


class Zone(Document):
    kind: Annotated[Literal["Zone"], KIND]
    lifecycle: Lifecycle = Lifecycle()
    """What a plan may do to what this document derives."""
    target: Name
    """The Broadstreet Target (by name) whose network the zone is created in; zones exist only there."""
    display_name: Annotated[str, Field(min_length=1, max_length=255)]
    """The zone's name as Broadstreet shows it (1-255 characters)."""
    alias: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+$")] | None = None
    """Broadstreet's alias of the zone, used by site code to show it (letters, digits, '.', '_', '-')."""


class Creative(Document):
    kind: Annotated[Literal["Creative"], KIND]
    lifecycle: DeletableLifecycle = DeletableLifecycle()
    """What a plan may do to what this document derives, and what removing it does."""
    advertiser: Name
    """The Advertiser (by name) that owns the creative; a campaign may use only its advertiser's creatives."""
    format: Format
    """The media type: image/png, image/jpeg, image/gif, video/mp4, video/quicktime, text/html or text/plain.
    A target that cannot show it skips the creative with a plan warning."""
    size: Annotated[str, Field(pattern=r"^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}$")]
    """Width x height in pixels (728x90)."""
    asset: str | None = None
    """The image or video file, as a path relative to the spec file that declares it; needed by image/* and
    video/*. Its content hash decides re-uploads."""
    html: str | None = None
    """The ad's HTML; needed by (and only for) format text/html."""
    text: str | None = None
    """The ad's text; needed by (and only for) format text/plain."""
    click_url: HttpUrl
    """Where a click goes (http or https)."""
    headline: Annotated[str, Field(max_length=255)] | None = None
    """Short title for Meta, TikTok and Snapchat (up to 255 characters; Snapchat takes the first 34)."""
    body: Annotated[str, Field(max_length=2000)] | None = None
    """Primary text for Meta and TikTok (up to 2000 characters)."""
    call_to_action: Annotated[str, Field(pattern=r"^[A-Z_]+$")] | None = None
    """The button, in the platforms' spelling (SHOP_NOW, LEARN_MORE, SIGN_UP, ...); default: none on Meta,
    LEARN_MORE on TikTok, MORE on Snapchat."""

    @model_validator(mode="after")
    def _content_matches_format(self) -> Creative:
        given = [k for k in ("asset", "html", "text") if getattr(self, k) is not None]
        if self.format == "text/html":
            wanted = "html"
        elif self.format == "text/plain":
            wanted = "text"
        else:
            wanted = "asset"
        if given != [wanted]:
            extra = [k for k in given if k != wanted]
            if extra:
                raise ValueError(f"format {self.format} takes `{wanted}`, not `{'`, `'.join(extra)}`")
            raise ValueError(f"format {self.format} needs `{wanted}`")
        return self


class Budget(SpecModel):
    """Money to spend per target, in major units of `currency`; exactly one of daily or lifetime."""

    daily: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)] | None = None
    """Per day, in major units (50.00 = fifty dollars, at most 2 decimals), on each target of the campaign."""
    lifetime: Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)] | None = None
    """For the whole flight, in major units, on each target; needs end_date on Meta, TikTok and Snapchat."""
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    """ISO 4217 code (USD); must be the ad account's currency (checked, never converted)."""

    @model_validator(mode="after")
    def _one_amount(self) -> Budget:
        if (self.daily is None) == (self.lifetime is None):
            raise ValueError("give exactly one of `daily` or `lifetime`")
        return self


class Audience(SpecModel):
    """Who sees the ads on Meta, TikTok and Snapchat."""

    countries: Annotated[list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]], Field(min_length=1)]
    """ISO 3166 country codes (US, CA); at least one."""
    age_min: Annotated[int, Field(ge=13, le=65)] = 18
    """Youngest age shown to, 13-65."""
    age_max: Annotated[int, Field(ge=13, le=65)] | None = None
    """Oldest age shown to, 13-65, not below age_min; default: no upper limit."""
    # Graph v23+ needs an explicit choice on every ad set.
    advantage_audience: bool = False
    """Meta only: true lets Advantage+ audience widen the audience beyond these limits."""

    @model_validator(mode="after")
    def _ages(self) -> Audience:
        if self.age_max is not None and self.age_max < self.age_min:
            raise ValueError(f"age_max ({self.age_max}) is below age_min ({self.age_min})")
        return self


class Campaign(Document):
    kind: Annotated[Literal["Campaign"], KIND]
    lifecycle: DeletableLifecycle = DeletableLifecycle()
    """What a plan may do to what this document derives, and what removing it does."""
    advertiser: Name
    """The Advertiser (by name) the campaign runs for."""
    start_date: dt.date
    """First day (YYYY-MM-DD); on Meta, TikTok and Snapchat it starts at 00:00:00 in the target's timezone."""
    end_date: dt.date | None = None
    """Last day (YYYY-MM-DD, inclusive, until 23:59:59 in the target's timezone). Leave out for an always-on
    campaign; a lifetime budget needs it."""
    targets: Annotated[list[Name], Field(min_length=1)]
    """The Targets (by name) the campaign runs on; at least one, each once."""
    creatives: list[Name] = []
    """The Creatives (by name) it shows, all of its advertiser; each target shows those it can."""
    budget: Budget | None = None
    """Budget per target; needed on Meta, TikTok and Snapchat, ignored on Broadstreet."""
    objective: Objective = "traffic"
    """What to optimise for: awareness, traffic, engagement or conversions; each platform maps it to its own."""
    conversion_event: ConversionEvent | None = None
    """The pixel event a conversions campaign optimises for (PURCHASE, LEAD, ADD_TO_CART,
    COMPLETE_REGISTRATION, INITIATE_CHECKOUT, VIEW_CONTENT); only with objective: conversions."""
    audience: Audience | None = None
    """Who sees it; needed on Meta, TikTok and Snapchat, ignored on Broadstreet."""
    paused: bool = False
    """true: created or kept paused everywhere."""
    # reconciler/golive holds and enables it
    activation: Literal["immediate", "after_review"] = "immediate"
    """immediate, or after_review: created paused on Meta, TikTok and Snapchat and enabled by an apply once
    every ad is approved. Ignored on Broadstreet."""
    overrides: dict[Platform, dict[str, Any]] = {}
    """Platform API fields set as given, per platform: {meta: {bid_strategy: X}} on the ad set (ad group, ad
    squad; Broadstreet campaign), {meta: {ad: {...}}} on a type, {meta: {creatives: {K: {ad: {...}}}}} per
    creative."""

    @field_validator("end_date")
    @classmethod
    def _dates(cls, end_date: dt.date | None, info: ValidationInfo) -> dt.date | None:
        # a field validator (not a model one) so that the error points at end_date's line
        start_date = info.data.get("start_date")  # absent when start_date itself is invalid
        if end_date is not None and start_date is not None and end_date < start_date:
            raise ValueError(
                f"end_date {end_date} is before start_date {start_date}; set end_date on or after start_date"
            )
        return end_date


class Placement(SpecModel):
    kind: Annotated[Literal["Placement"], KIND]
    name: Name | None = None
    """The placement's name; default CAMPAIGN.CREATIVE.ZONE."""
    labels: dict[str, str] = {}
    """Free-form key/value metadata; never sent to a platform."""
    lifecycle: Lifecycle = Lifecycle()
    """What a plan may do to what this document derives."""
    campaign: Name
    """The Campaign (by name); it must run on the zone's Broadstreet target."""
    creative: Name
    """The Creative (by name) shown; one of the campaign's creatives."""
    zone: Name
    """The Zone (by name) it is shown in."""
    # Device targeting: at most one of Broadstreet's values. A list, so that `[desktop]` specs
    # stay valid; the API takes one string per placement (see _one_restriction).
    restrictions: list[Literal["phone", "non_phone", "tablet", "desktop", "mobile"]] = []
    """Device targeting, at most one of phone, non_phone, tablet, desktop, mobile (a list: [phone]); default:
    every device."""

    @field_validator("restrictions")
    @classmethod
    def _one_restriction(cls, restrictions: list[str]) -> list[str]:
        # Broadstreet's placement `restrictions` is one string (phone, non_phone, tablet, desktop,
        # mobile) or none; no multi-value form is documented (research fidelity-audit.md row 13,
        # BS-JOM entities/placements.md), so two cannot be sent: a combination is refused here, at
        # the field's line, rather than by the API at apply.
        if len(set(restrictions)) > 1:
            raise ValueError(
                f"restrictions [{', '.join(restrictions)}] combine devices, which Broadstreet cannot express: "
                "a placement takes one of phone, non_phone, tablet, desktop, mobile (third-party docs of "
                "the API say non_phone is everything but phones and mobile is phones and tablets); "
                "keep one, or add a placement per device"
            )
        return restrictions[:1]

    @property
    def full_name(self) -> str:
        return self.name or f"{self.campaign}.{self.creative}.{self.zone}"


# What a Moved may name: a document as KIND/NAME, or one resource as TARGET:TYPE/NAME.
MOVABLE_KINDS = ("Advertiser", "Zone", "Creative", "Campaign", "Placement")
_SPEC_REF = re.compile(r"^([A-Za-z]+)/(.+)$")
_ADDRESS = re.compile(r"^([a-z0-9][a-z0-9._-]*):([a-z_]+)/([a-z0-9][a-z0-9._-]*)$")


class Moved(SpecModel):
    """A rename: what is recorded under `from` now lives under `to` (Terraform's `moved` block)."""

    model_config = ConfigDict(populate_by_name=True)
    kind: Annotated[Literal["Moved"], KIND]
    from_: Annotated[str, Field(alias="from")]
    """The old name: KIND/NAME (Campaign/summer) or one resource's address TARGET:TYPE/NAME."""
    to: str
    """The new name, in the same form, kind, target and type as `from`."""

    @field_validator("from_", "to")
    @classmethod
    def _form(cls, value: str) -> str:
        if _ADDRESS.match(value):
            return value
        spec = _SPEC_REF.match(value)
        if spec is None:
            raise ValueError(
                f"`{value}` is neither KIND/NAME (e.g. Campaign/spring) nor a resource address TARGET:TYPE/NAME"
            )
        kind, name = spec.groups()
        if kind == "Target":
            raise ValueError("a Target cannot be moved: its name is in every address of its objects; keep its name")
        if kind not in MOVABLE_KINDS:
            raise ValueError(f"unknown kind `{kind}`; a Moved names one of {', '.join(MOVABLE_KINDS)}")
        if not re.match(NAME_PATTERN, name):
            raise ValueError(f"`{name}` is not a valid name (lowercase letters, digits, '.', '_', '-')")
        return value

    @model_validator(mode="after")
    def _same_kind(self) -> Moved:
        if self.from_ == self.to:
            raise ValueError("`from` and `to` are the same")
        if self.is_address != bool(_ADDRESS.match(self.to)):
            raise ValueError("`from` and `to` must both be KIND/NAME or both TARGET:TYPE/NAME")
        if self.prefix(self.from_) != self.prefix(self.to):
            raise ValueError(
                f"`{self.from_}` and `{self.to}` differ in "
                + ("target or type" if self.is_address else "kind")
                + "; a move only renames"
            )
        return self

    @property
    def is_address(self) -> bool:
        return bool(_ADDRESS.match(self.from_))

    @staticmethod
    def prefix(ref: str) -> str:
        """'Campaign/x' -> 'Campaign'; 'bs:campaign/x' -> 'bs:campaign'."""
        return ref.rpartition("/")[0]

    @property
    def full_name(self) -> str:
        return f"{self.from_} -> {self.to}"


# Defined in the policy package (what it means lives there), loaded and checked like every kind.
from reconciler.policy.document import Policy  # noqa: E402

KIND_MODELS: dict[str, Any] = {
    "Target": Target,
    "Advertiser": Advertiser,
    "Zone": Zone,
    "Creative": Creative,
    "Campaign": Campaign,
    "Placement": Placement,
    "Moved": Moved,
    "Policy": Policy,
}

TARGET_MODELS = {
    "broadstreet": BroadstreetTarget,
    "meta": MetaTarget,
    "tiktok": TikTokTarget,
    "snapchat": SnapchatTarget,
}
