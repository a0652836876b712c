"""Pydantic models, one per spec kind (DESIGN.md section 3).

These check each document on its own (types, formats, unknown fields).
Checks across documents (references, duplicates) live in validate.py.
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


class Document(SpecModel):
    kind: str
    name: Name
    labels: dict[str, str] = {}


# ---------------------------------------------------------------- targets


class TokenCredentials(SpecModel):
    token_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class SnapchatCredentials(SpecModel):
    refresh_token_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    client_id_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    client_secret_env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
    token_env: Annotated[str | None, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")] = None


class TargetBase(Document):
    kind: Literal["Target"]
    api_base_url: HttpUrl | None = None
    concurrency: Annotated[int, Field(ge=1, le=256)] | None = None
    rate_limit: Annotated[float, Field(gt=0, le=10_000)] | None = None  # requests per second


class BroadstreetTarget(TargetBase):
    platform: Literal["broadstreet"]
    network_id: Annotated[int, Field(gt=0)]
    credentials: TokenCredentials


TimeZone = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(check_time_zone)]
PixelId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class AdPlatformTarget(TargetBase):
    """A Meta, TikTok or Snapchat ad account: flights run in its time zone; conversions need its pixel."""

    timezone: Annotated[
        TimeZone,
        Field(description="The ad account's IANA time zone; checked against the account before the first write."),
    ] = "UTC"
    pixel_id: PixelId | None = None

    @field_validator("pixel_id", mode="before")
    @classmethod
    def _pixel_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class MetaTarget(AdPlatformTarget):
    platform: Literal["meta"]
    ad_account_id: Annotated[str, Field(pattern=r"^act_[0-9]+$")]
    page_id: Annotated[str, Field(pattern=r"^[0-9]+$")]
    credentials: TokenCredentials

    @field_validator("page_id", mode="before")
    @classmethod
    def _page_id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class TikTokTarget(AdPlatformTarget):
    platform: Literal["tiktok"]
    advertiser_id: Annotated[str, Field(pattern=r"^[0-9]+$")]
    identity_id: Annotated[str, Field(min_length=1)]
    credentials: TokenCredentials

    @field_validator("advertiser_id", "identity_id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class SnapchatTarget(AdPlatformTarget):
    platform: Literal["snapchat"]
    ad_account_id: Annotated[str, Field(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]
    credentials: SnapchatCredentials
    auth_url: HttpUrl | None = None


Target = Annotated[BroadstreetTarget | MetaTarget | TikTokTarget | SnapchatTarget, Field(discriminator="platform")]

# ---------------------------------------------------------------- the rest


class Lifecycle(SpecModel):
    """What a plan may do to the objects derived from a document (plan/lifecycle.py)."""

    prevent_destroy: Annotated[
        bool, Field(description="Refuse any plan that deletes, pauses as a delete, or replaces what this derives.")
    ] = False


class DeletableLifecycle(Lifecycle):
    on_delete: Annotated[
        Literal["pause", "delete"] | None,
        Field(
            description="What removing it from the specs does on Meta, TikTok and Snapchat: pause (the default: "
            "the object keeps its reporting) or delete (irreversible). Broadstreet always deletes."
        ),
    ] = None


class Advertiser(Document):
    kind: Literal["Advertiser"]
    lifecycle: Lifecycle = Lifecycle()
    display_name: Annotated[str, Field(min_length=1, max_length=255)]
    web_home_url: HttpUrl | None = None


class Zone(Document):
    kind: Literal["Zone"]
    lifecycle: Lifecycle = Lifecycle()
    target: Name
    display_name: Annotated[str, Field(min_length=1, max_length=255)]
    alias: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+$")] | None = None


class Creative(Document):
    kind: Literal["Creative"]
    lifecycle: DeletableLifecycle = DeletableLifecycle()
    advertiser: Name
    format: Format
    size: Annotated[str, Field(pattern=r"^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}$")]
    asset: str | None = None  # path relative to the file that declares it
    html: str | None = None
    text: str | None = None
    click_url: HttpUrl
    headline: Annotated[str, Field(max_length=255)] | None = None
    body: Annotated[str, Field(max_length=2000)] | None = None
    call_to_action: Annotated[str, Field(pattern=r"^[A-Z_]+$")] | None = None

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
    daily: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)] | None = None
    lifetime: Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=2)] | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]

    @model_validator(mode="after")
    def _one_amount(self) -> Budget:
        if (self.daily is None) == (self.lifetime is None):
            raise ValueError("give exactly one of `daily` or `lifetime`")
        return self


class Audience(SpecModel):
    countries: Annotated[list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]], Field(min_length=1)]
    age_min: Annotated[int, Field(ge=13, le=65)] = 18
    age_max: Annotated[int, Field(ge=13, le=65)] | None = None
    # Meta only: let Advantage+ audience widen the audience beyond these limits (Graph v23+ needs a choice).
    advantage_audience: bool = False

    @model_validator(mode="after")
    def _ages(self) -> Audience:
        if self.age_max is not None and self.age_max < self.age_min:
            raise ValueError(f"age_max ({self.age_max}) is below age_min ({self.age_min})")
        return self


class Campaign(Document):
    kind: Literal["Campaign"]
    lifecycle: DeletableLifecycle = DeletableLifecycle()
    advertiser: Name
    start_date: dt.date
    end_date: Annotated[
        dt.date | None,
        Field(description="Last day (inclusive). Leave out for an always-on campaign; a lifetime budget needs it."),
    ] = None
    targets: Annotated[list[Name], Field(min_length=1)]
    creatives: list[Name] = []
    budget: Budget | None = None
    objective: Objective = "traffic"
    conversion_event: ConversionEvent | None = None  # with objective: conversions (needs the target's pixel_id)
    audience: Audience | None = None
    paused: bool = False
    # after_review: created paused on Meta, TikTok and Snapchat, enabled by an apply once every ad of
    # the campaign on that target is approved (reconciler/golive). Broadstreet has no review: ignored there.
    activation: Literal["immediate", "after_review"] = "immediate"
    overrides: dict[Platform, dict[str, Any]] = {}

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
    kind: Literal["Placement"]
    name: Name | None = None  # derived as CAMPAIGN.CREATIVE.ZONE when omitted
    labels: dict[str, str] = {}
    lifecycle: Lifecycle = Lifecycle()
    campaign: Name
    creative: Name
    zone: Name
    # Device targeting: at most one of Broadstreet's values. A list, so that `[desktop]` specs
    # stay valid; the API takes one string per placement (see _one_restriction).
    restrictions: list[Literal["phone", "non_phone", "tablet", "desktop", "mobile"]] = []

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

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, populate_by_name=True)
    kind: Literal["Moved"]
    from_: Annotated[str, Field(alias="from")]
    to: str

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
