"""What the planner must know about each platform's resource types.

Declarative facts only (no HTTP): the types of each platform, parents first,
and which attributes the platform cannot change in place, so that changing
them means delete + create (replace). Sources: shared/research/platform-apis.md
sections 1.3, 2.5, 3.5, 4.6 and 5.2.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

ALL_FIELDS = "*"  # marker: no attribute of this type can be changed in place

# How a replace runs. create_before_destroy: the new object is made first and the
# old one deleted afterwards (no gap in delivery). destroy_before_create: for types
# whose identity is their content, where old and new cannot exist side by side.
ReplaceMode = Literal["create_before_destroy", "destroy_before_create"]


@dataclass(frozen=True)
class ResourceType:
    platform: str
    name: str
    force_new: frozenset[str]  # attributes that cannot change in place; ALL_FIELDS = every one
    updatable: frozenset[str] = frozenset()  # with ALL_FIELDS: the exceptions that can change
    replace_mode: ReplaceMode = "create_before_destroy"
    deletable: bool = True  # False: the API has no delete; "deleting" only forgets the record
    # Fields that only label an object the platform cannot change (an upload's file name): a
    # difference in them alone is no change. Replacing an image to rename it would send every ad
    # showing it back to review; the upload keeps the name it was created with.
    labels: frozenset[str] = frozenset()
    # (field, value) that pauses an object: a removal from the specs pauses it rather than deleting
    # it (plan/lifecycle.py), since a delete loses its reporting. None: removals delete.
    pause: tuple[str, str] | None = None
    spends: bool = False  # a campaign-level, budget-level object or an ad: its removal shows a banner

    def requires_replace(self, field: str) -> bool:
        if ALL_FIELDS in self.force_new:
            return field not in self.updatable
        return field in self.force_new


def _types(platform: str, *specs: tuple[str, set[str]] | tuple[str, set[str], set[str]]) -> list[ResourceType]:
    return [
        ResourceType(platform, spec[0], frozenset(spec[1]), frozenset(spec[2] if len(spec) > 2 else ()))
        for spec in specs
    ]


_ALL = {ALL_FIELDS}

# Order within a platform is parents first: the order resources are created in.
RESOURCE_TYPES: dict[tuple[str, str], ResourceType] = {
    (t.platform, t.name): t
    for t in [
        *_types(
            "broadstreet",
            ("advertiser", {"network_id"}),
            ("zone", {"network_id"}),
            ("campaign", {"advertiser_id"}),
            # /api/1 has no advertisement update: a new ad replaces the old one.
            ("advertisement", _ALL),
        ),
        # A placement is only its (campaign, advertisement, zone) triple: no update, and
        # it is deleted by that triple, so an old and a new one cannot coexist.
        ResourceType("broadstreet", "placement", frozenset(_ALL), replace_mode="destroy_before_create"),
        *_types(
            "meta",
            # objective: in the SDK's update params, but a live change is not
            # confirmed to work (research 2.5): treat it as force-new.
            ("campaign", {"account_id", "buying_type", "objective"}),
            ("adset", {"account_id", "campaign_id"}),
            ("adimage", _ALL),  # content-addressed by hash
            ("advideo", _ALL, {"name"}),
            ("adcreative", _ALL, {"name", "status"}),  # content is immutable
            ("ad", {"account_id", "adset_id"}),  # creative can be swapped in place
        ),
        *_types(
            "tiktok",
            ("campaign", {"advertiser_id", "objective_type", "budget_mode", "campaign_type"}),
            (
                "adgroup",
                {
                    "advertiser_id",
                    "campaign_id",
                    "budget_mode",
                    "billing_event",
                    "optimization_goal",
                    "placement_type",
                    "placements",
                    "promotion_type",
                    "pixel_id",  # neither is in the SDK's AdgroupUpdateBody
                    "optimization_event",
                },
            ),
            ("image", _ALL),
            ("video", _ALL),
            ("ad", {"advertiser_id", "adgroup_id", "ad_format"}),
        ),
        *_types(
            "snapchat",
            ("campaign", {"ad_account_id", "objective", "buy_model"}),
            ("adsquad", {"campaign_id"}),
            ("media", _ALL),
            ("creative", _ALL, {"name"}),
            ("ad", {"ad_squad_id"}),
        ),
    ]
}

# Renaming a creative (a Moved, or an import keeping what runs) must not re-upload its file.
for _key, _label in (
    (("broadstreet", "advertisement"), "name"),
    (("meta", "adimage"), "name"),
    (("tiktok", "image"), "file_name"),
    (("tiktok", "video"), "file_name"),
    (("snapchat", "media"), "name"),
):
    RESOURCE_TYPES[_key] = replace(RESOURCE_TYPES[_key], labels=frozenset({_label}))

# Snapchat documents no DELETE for creatives and media (research 4.3, UNCONFIRMED): they stay in the library.
for _key in (("snapchat", "creative"), ("snapchat", "media")):
    RESOURCE_TYPES[_key] = replace(RESOURCE_TYPES[_key], deletable=False)

# Meta, TikTok and Snapchat lose an object's reporting in their UI once it is deleted.
_PAUSE = {"meta": ("status", "PAUSED"), "tiktok": ("operation_status", "DISABLE"), "snapchat": ("status", "PAUSED")}
_SPENDING = {
    "broadstreet": ("campaign", "advertisement", "placement"),
    "meta": ("campaign", "adset", "ad"),
    "tiktok": ("campaign", "adgroup", "ad"),
    "snapchat": ("campaign", "adsquad", "ad"),
}
for _platform, _types_spending in _SPENDING.items():
    for _name in _types_spending:
        RESOURCE_TYPES[(_platform, _name)] = replace(
            RESOURCE_TYPES[(_platform, _name)], spends=True, pause=_PAUSE.get(_platform)
        )

PLATFORMS: tuple[str, ...] = ("broadstreet", "meta", "tiktok", "snapchat")

# The target setting that names the account its objects live in: objects recorded in one
# account cannot be updated or deleted through another.
ACCOUNT_SETTING = {
    "broadstreet": "network_id",
    "meta": "ad_account_id",
    "tiktok": "advertiser_id",
    "snapchat": "ad_account_id",
}


def resource_type(platform: str, name: str) -> ResourceType:
    try:
        return RESOURCE_TYPES[(platform, name)]
    except KeyError:
        known = ", ".join(t for p, t in RESOURCE_TYPES if p == platform)
        raise KeyError(f"{platform} has no resource type {name!r} (known: {known})") from None


def types_of(platform: str) -> list[str]:
    """The platform's types, parents first."""
    return [t for p, t in RESOURCE_TYPES if p == platform]
