"""Plan renderers (text, markdown, json) and the plan file format."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import re

import pytest

from reconciler.errors import ReconcilerError
from reconciler.model import Action, Asset, Change, Plan, RecordedResource, Resource, TargetConfig, resolve_refs
from reconciler.plan.planfile import plan_from_json, plan_to_json, read_plan_file
from reconciler.plan.render import render_json, render_markdown, render_text

PLATFORMS = {
    "bs-main": "broadstreet",
    "meta-us": "meta",
    "meta-jp": "meta",
    "tiktok-us": "tiktok",
    "snap-us": "snapchat",
}
IDS = {  # platform ids of resources that exist already
    "bs-main:advertiser/acme": "9001",
    "bs-main:campaign/acme-summer": "71544",
    "bs-main:advertisement/summer-728x90": "88120",
    "bs-main:advertisement/summer-html": "88121",
    "bs-main:zone/sidebar": "301",
    "bs-main:placement/acme-summer.summer-html.sidebar": "71544-88121-301",
    "meta-us:campaign/acme-summer": "120210000000001",
    "meta-us:adset/acme-summer": "120210000000002",
    "meta-us:adimage/summer-728x90": "9f2c1a7e",
    "meta-us:adcreative/acme-summer.summer-728x90": "120210000000003",
    "meta-us:ad/acme-summer.summer-728x90": "120210000000004",
    "snap-us:campaign/acme-spring": "3c1f8a2e-0b7d-4e55-9a61-1d2b3c4d5e6f",
    "snap-us:adsquad/acme-spring": "7a9e0c11-52b4-4f0e-8d3a-6b5c4d3e2f10",
    "snap-us:ad/acme-spring.spring-video": "0d4e6f8a-1b2c-4d3e-9f5a-7b8c9d0e1f2a",
}
NEW_IDS = {  # created or replaced in the sample plan: their ids are known after apply
    "bs-main:zone/home-leaderboard",
    "bs-main:advertisement/summer-html",
    "bs-main:placement/acme-summer.summer-728x90.home-leaderboard",
    "bs-main:placement/acme-summer.summer-html.sidebar",
    "meta-us:adimage/summer-728x90",
    "meta-us:adcreative/acme-summer.summer-728x90",
    "meta-jp:campaign/acme-japan",
    "meta-jp:adset/acme-japan",
    "tiktok-us:campaign/acme-summer",
    "tiktok-us:adgroup/acme-summer",
    "tiktok-us:image/summer-728x90",
    "tiktok-us:ad/acme-summer.summer-728x90",
}
HTML = (
    '<div class="acme-summer"><a href="https://acme.example/summer?utm_source=broadstreet">'
    '<img src="https://cdn.acme.example/summer/728x90@2x.png" alt="Summer sale: 20% off | free shipping">'
    "</a></div>"
)
SHA_OLD = "5d41402abc4b2a76b9719d911017c592f1e2d3c4b5a69788796a5b4c3d2e1f00"
SHA_NEW = "7e240de74fb1ed08fa08d38063f6a6a91b2c3d4e5f60718293a4b5c6d7e8f901"


def _change(
    address: str,
    action: Action,
    before: dict | None = None,
    attributes: dict | None = None,
    refs: dict[str, str] | None = None,
    changed: tuple[str, ...] = (),
    reason: str = "",
    asset: Asset | None = None,
) -> Change:
    """A change as the planner makes it: `attributes` as compiled (refs not filled in), `after`
    with every ref resolved to the recorded id, or None when the id comes only from this apply."""
    target, rest = address.split(":")
    type_, name = rest.split("/")
    refs = refs or {}
    depends_on = tuple(sorted(set(refs.values())))
    after = desired = None
    if attributes is not None:
        desired = Resource(address, target, PLATFORMS[target], type_, name, attributes, refs, depends_on, asset)
        after, _ = resolve_refs(attributes, refs, lambda a: None if a in NEW_IDS else IDS[a])
    recorded = None
    if before is not None:
        recorded = RecordedResource(address, IDS[address], type_, target, before, depends_on)
    return Change(address, target, type_, action, before, after, changed, depends_on, reason, desired, recorded)


def sample_plan() -> Plan:
    """A realistic plan over four platforms with all five actions, replaces, budgets and a warning."""
    c, u, r, d, n = Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE, Action.NOOP
    adv = "bs-main:advertiser/acme"
    bs_campaign = "bs-main:campaign/acme-summer"
    html_ad, image_ad = "bs-main:advertisement/summer-html", "bs-main:advertisement/summer-728x90"
    leaderboard, sidebar = "bs-main:zone/home-leaderboard", "bs-main:zone/sidebar"
    m_campaign, m_adset = "meta-us:campaign/acme-summer", "meta-us:adset/acme-summer"
    m_image, m_creative = "meta-us:adimage/summer-728x90", "meta-us:adcreative/acme-summer.summer-728x90"
    jp_campaign = "meta-jp:campaign/acme-japan"
    tt_campaign, tt_image = "tiktok-us:campaign/acme-summer", "tiktok-us:image/summer-728x90"
    s_campaign, s_squad = "snap-us:campaign/acme-spring", "snap-us:adsquad/acme-spring"

    advertiser = {"name": "ACME Corp", "network_id": 85, "web_home_url": "https://acme.example"}
    bs_campaign_attributes = {
        "end_date": "2026-09-15",
        "name": "acme-summer",
        "paused": False,
        "start_date": "2026-06-01",
    }
    image_ad_attributes = {
        "asset_sha256": SHA_OLD,
        "destination": "https://acme.example/summer",
        "name": "summer-728x90",
        "type": "static",
    }
    html_ad_before = {
        "advertiser_id": "9001",
        "html": HTML.replace("20%", "15%"),
        "name": "summer-html",
        "type": "html",
    }
    m_campaign_attributes = {
        "account_id": "1234567890",
        "buying_type": "AUCTION",
        "name": "acme-summer",
        "objective": "OUTCOME_TRAFFIC",
        "special_ad_categories": [],
        "status": "ACTIVE",
    }
    adset = {
        "account_id": "1234567890",
        "bid_strategy": "LOWEST_COST_WITHOUT_CAP",
        "billing_event": "IMPRESSIONS",
        "currency": "USD",
        "daily_budget": 7500,
        "end_time": "2026-09-15T23:59:59+0000",
        "name": "acme-summer",
        "optimization_goal": "LINK_CLICKS",
        "start_time": "2026-06-01T00:00:00+0000",
        "status": "ACTIVE",
        "targeting": {"age_min": 18, "geo_locations": {"countries": ["US"]}},
    }
    adset_before = {
        **{k: v for k, v in adset.items() if k != "bid_strategy"},
        "campaign_id": IDS[m_campaign],
        "daily_budget": 5000,
        "end_time": "2026-08-31T23:59:59+0000",
    }
    m_image_attributes = {"account_id": "1234567890", "asset_sha256": SHA_NEW, "name": "summer-728x90"}
    m_creative_attributes = {
        "account_id": "1234567890",
        "name": "acme-summer.summer-728x90",
        "object_story_spec": {"link_data": {"link": "https://acme.example/summer"}, "page_id": "1000001"},
    }
    m_creative_before = copy.deepcopy(m_creative_attributes)
    m_creative_before["object_story_spec"]["link_data"]["image_hash"] = IDS[m_image]
    m_ad_attributes = {"account_id": "1234567890", "name": "acme-summer.summer-728x90", "status": "ACTIVE"}
    m_ad_before = {
        **m_ad_attributes,
        "adset_id": IDS[m_adset],
        "creative": {"creative_id": IDS[m_creative]},
    }

    changes = [
        _change(adv, n, advertiser, advertiser),
        _change(leaderboard, c, attributes={"alias": "home-lb", "name": "Homepage leaderboard", "network_id": 85}),
        _change(
            bs_campaign,
            u,
            {**bs_campaign_attributes, "advertiser_id": "9001", "end_date": "2026-08-31"},
            bs_campaign_attributes,
            refs={"advertiser_id": adv},
            changed=("end_date",),
        ),
        _change(
            image_ad,
            n,
            {**image_ad_attributes, "advertiser_id": "9001"},
            image_ad_attributes,
            refs={"advertiser_id": adv},
        ),
        _change(
            html_ad,
            r,
            html_ad_before,
            {"html": HTML, "name": "summer-html", "type": "html"},
            refs={"advertiser_id": adv},
            changed=("html",),
            reason="cannot change in place: html",
        ),
        _change(
            "bs-main:placement/acme-summer.summer-728x90.home-leaderboard",
            c,
            attributes={"restrictions": ["mobile"]},
            refs={"campaign_id": bs_campaign, "advertisement_id": image_ad, "zone_id": leaderboard},
        ),
        _change(
            "bs-main:placement/acme-summer.summer-html.sidebar",
            r,
            {"advertisement_id": "88121", "campaign_id": "71544", "restrictions": [], "zone_id": "301"},
            {"restrictions": []},
            refs={"campaign_id": bs_campaign, "advertisement_id": html_ad, "zone_id": sidebar},
            changed=("advertisement_id",),
            reason=f"cannot change in place: advertisement_id (new {html_ad})",
        ),
        _change(m_campaign, n, m_campaign_attributes, m_campaign_attributes),
        _change(
            m_adset,
            u,
            adset_before,
            adset,
            refs={"campaign_id": m_campaign},
            changed=("bid_strategy", "daily_budget", "end_time"),
        ),
        _change(
            m_image,
            r,
            {**m_image_attributes, "asset_sha256": SHA_OLD},
            m_image_attributes,
            changed=("asset_sha256",),
            reason="cannot change in place: asset_sha256",
            asset=Asset("/work/project/assets/summer-728x90.png", SHA_NEW, "image/png"),
        ),
        _change(
            m_creative,
            r,
            m_creative_before,
            m_creative_attributes,
            refs={"object_story_spec.link_data.image_hash": m_image},
            changed=("object_story_spec",),
            reason=f"cannot change in place: object_story_spec (new {m_image})",
        ),
        _change(
            "meta-us:ad/acme-summer.summer-728x90",
            u,
            m_ad_before,
            m_ad_attributes,
            refs={"adset_id": m_adset, "creative.creative_id": m_creative},
            changed=("creative",),
        ),
        _change(
            jp_campaign,
            c,
            attributes={
                "account_id": "2234567890",
                "buying_type": "AUCTION",
                "name": "acme-japan",
                "objective": "OUTCOME_AWARENESS",
                "special_ad_categories": [],
                "status": "PAUSED",
            },
        ),
        _change(
            "meta-jp:adset/acme-japan",
            c,
            attributes={
                "account_id": "2234567890",
                "billing_event": "IMPRESSIONS",
                "currency": "JPY",
                "daily_budget": 5000,
                "name": "acme-japan",
                "optimization_goal": "REACH",
                "status": "PAUSED",
            },
            refs={"campaign_id": jp_campaign},
        ),
        _change(
            tt_campaign,
            c,
            attributes={
                "advertiser_id": "7000000000001",
                "budget_mode": "BUDGET_MODE_INFINITE",
                "campaign_name": "acme-summer",
                "objective_type": "TRAFFIC",
                "operation_status": "ENABLE",
            },
        ),
        _change(
            "tiktok-us:adgroup/acme-summer",
            c,
            attributes={
                "adgroup_name": "acme-summer",
                "advertiser_id": "7000000000001",
                "age_groups": ["AGE_18_24", "AGE_25_34", "AGE_35_44", "AGE_45_54", "AGE_55_100"],
                "billing_event": "CPC",
                "budget": 40.0,
                "budget_mode": "BUDGET_MODE_DAY",
                "currency": "USD",
                "location_ids": ["6252001"],
                "optimization_goal": "CLICK",
                "schedule_end_time": "2026-09-15 23:59:59",
                "schedule_start_time": "2026-06-01 00:00:00",
            },
            refs={"campaign_id": tt_campaign},
        ),
        _change(
            tt_image,
            c,
            attributes={"advertiser_id": "7000000000001", "asset_sha256": SHA_NEW, "file_name": "summer-728x90"},
            asset=Asset("/work/project/assets/summer-728x90.png", SHA_NEW, "image/png"),
        ),
        _change(
            "tiktok-us:ad/acme-summer.summer-728x90",
            c,
            attributes={
                "ad_format": "SINGLE_IMAGE",
                "ad_name": "acme-summer.summer-728x90",
                "ad_text": "Summer sale: 20% off everything",
                "advertiser_id": "7000000000001",
                "call_to_action": "SHOP_NOW",
                "identity_id": "acme-identity",
                "identity_type": "CUSTOMIZED_USER",
                "landing_page_url": "https://acme.example/summer",
                "operation_status": "ENABLE",
            },
            refs={"adgroup_id": "tiktok-us:adgroup/acme-summer", "image_ids.0": tt_image},
        ),
        _change(
            "snap-us:ad/acme-spring.spring-video",
            d,
            before={
                "ad_squad_id": IDS[s_squad],
                "creative_id": "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b",
                "name": "acme-spring.spring-video",
                "status": "ACTIVE",
                "type": "REMOTE_WEBPAGE",
            },
            refs={"ad_squad_id": s_squad},
            reason="no longer in the specs",
        ),
        _change(
            s_squad,
            d,
            before={
                "campaign_id": IDS[s_campaign],
                "currency": "USD",
                "daily_budget_micro": 20_000_000,
                "name": "acme-spring",
                "status": "ACTIVE",
            },
            refs={"campaign_id": s_campaign},
            reason="no longer in the specs",
        ),
        _change(
            s_campaign,
            d,
            before={"name": "acme-spring", "objective": "WEB_CONVERSION", "status": "ACTIVE"},
            reason="no longer in the specs",
        ),
    ]
    assert {c.address for c in changes if c.action in (Action.CREATE, Action.REPLACE)} == NEW_IDS
    targets = {
        "bs-main": TargetConfig("bs-main", "broadstreet", {"network_id": 85}, {"token_env": "BROADSTREET_API_TOKEN"}),
        "meta-us": TargetConfig(
            "meta-us",
            "meta",
            {"ad_account_id": "act_1234567890", "page_id": "1000001"},
            {"token_env": "META_ACCESS_TOKEN"},
            rate_limit=5.0,
        ),
        "meta-jp": TargetConfig(
            "meta-jp",
            "meta",
            {"ad_account_id": "act_2234567890", "page_id": "1000002"},
            {"token_env": "META_JP_ACCESS_TOKEN"},
        ),
        "tiktok-us": TargetConfig(
            "tiktok-us",
            "tiktok",
            {"advertiser_id": "7000000000001", "identity_id": "acme-identity"},
            {"token_env": "TIKTOK_ACCESS_TOKEN"},
            concurrency=2,
        ),
        "snap-us": TargetConfig(
            "snap-us",
            "snapchat",
            {"ad_account_id": "8f2b6c1d-3e4a-4b5c-9d6e-7f8091a2b3c4"},
            {
                "client_id_env": "SNAP_CLIENT_ID",
                "client_secret_env": "SNAP_CLIENT_SECRET",
                "refresh_token_env": "SNAP_REFRESH_TOKEN",
            },
            api_base_url="http://127.0.0.1:8750/snapchat/v1",
            auth_url="http://127.0.0.1:8750/snapchat/login/oauth2/access_token",
        ),
    }
    warnings = ["creative `summer-html` (text/html) cannot be shown on tiktok-us (tiktok); skipped there"]
    return Plan(changes, warnings, "2f9c7c1e-8d5b-4c1a-9e0f-3b6a1d2c4e5f", 7, targets)


ANSI = re.compile(r"\x1b\[[0-9;]*m")


# ------------------------------------------------------------------ snapshots


def test_text_snapshot(snapshot):
    assert render_text(sample_plan(), color=False) == snapshot


def test_text_color_snapshot(snapshot):
    assert render_text(sample_plan(), color=True) == snapshot


def test_markdown_snapshot(snapshot):
    assert render_markdown(sample_plan()) == snapshot


def test_json_snapshot(snapshot):
    assert render_json(sample_plan()) == snapshot


# ------------------------------------------------------------------ text


def test_text_without_color_has_no_escape_codes(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")  # the renderer must listen to its argument only
    assert "\x1b" not in render_text(sample_plan(), color=False)


def test_color_only_adds_escape_codes():
    plan = sample_plan()
    colored = render_text(plan, color=True)
    assert "\x1b[32m+\x1b[0m" in colored
    assert ANSI.sub("", colored) == render_text(plan, color=False)


def test_text_lines():
    text = render_text(sample_plan(), color=False)
    assert '  ~ bs-main:campaign/acme-summer\n      ~ end_date = "2026-08-31" -> "2026-09-15"\n\n' in text
    # An update shows only the changed fields, aligned; a field new in the specs is "+".
    assert (
        '      + bid_strategy = "LOWEST_COST_WITHOUT_CAP"\n'
        "      ~ daily_budget = 5000 -> 7500\n"
        '      ~ end_time     = "2026-08-31T23:59:59+0000" -> "2026-09-15T23:59:59+0000"\n\n'
    ) in text
    # Replace: the reason in the header, the force-new field marked.
    assert "-/+ meta-us:adimage/summer-728x90 (cannot change in place: asset_sha256)\n" in text
    assert f'~ asset_sha256 = "{SHA_OLD}" -> "{SHA_NEW}" # forces replacement\n' in text
    # A changed object shows its changed leaves only.
    assert (
        "      ~ object_story_spec.link_data.image_hash = "
        '"9f2c1a7e" -> (known after apply: meta-us:adimage/summer-728x90) # forces replacement\n'
    ) in text
    # Refs to resources created or replaced in this plan are not known yet, also inside lists.
    assert "+ zone_id          = (known after apply: bs-main:zone/home-leaderboard)\n" in text
    assert "+ image_ids        = [(known after apply: tiktok-us:image/summer-728x90)]\n" in text
    assert '+ advertisement_id = "88120"\n' in text  # a ref to an unchanged resource: its recorded id
    # Deletes list what is recorded, with the reason.
    assert "  - snap-us:adsquad/acme-spring (no longer in the specs)\n      - campaign_id  " in text
    # Noop changes are not listed.
    assert "bs-main:advertiser/acme" not in text and "meta-us:campaign/acme-summer" not in text
    # Long strings are cut around their first difference.
    assert '~ html = "…\\" alt=\\"Summer sale: 15% off | free shipping\\"></a></div>" -> "…\\" alt' in text
    assert text.endswith("\nPlan: 8 to create, 3 to update, 4 to replace, 3 to delete.\n")
    # The summary first: the verdict, the counts, spend and warnings, then the changes (and the verdict again).
    assert text.startswith("Plan: 8 to create, 3 to update, 4 to replace, 3 to delete.\n\nChanges by target and type:")
    assert text.index("Spend (budgets") < text.index("Warning: creative `summer-html`") < text.index("Resource actions")


def test_replace_without_reason_names_the_force_new_fields():
    plan = sample_plan()
    index = plan.changes.index(plan.change("meta-us:adset/acme-summer"))
    replace = dataclasses.replace(plan.changes[index], action=Action.REPLACE, changed_fields=("campaign_id", "name"))
    plan.changes[index] = replace
    assert "-/+ meta-us:adset/acme-summer (must be replaced: campaign_id)\n" in render_text(plan, color=False)


def test_no_changes():
    plan = Plan([c for c in sample_plan().changes if c.action is Action.NOOP], warnings=["w <1>"])
    assert render_text(plan, color=False) == "No changes. Recorded state matches the specs.\n\nWarning: w <1>\n"
    markdown = render_markdown(plan)
    assert "No changes. Recorded state matches the specs." in markdown
    assert "<details>" not in markdown and "| Action |" not in markdown
    assert "w &lt;1&gt;" in markdown


# ------------------------------------------------------------------ markdown


def test_markdown_spend_tables():
    markdown = render_markdown(sample_plan())
    # USD: meta-us adset 50.00 -> 75.00, snapchat ad squad 20.00 deleted, tiktok ad group 40.00 created.
    assert "| USD | 70.00 USD → 115.00 USD | +45.00 USD | 0.00 USD |" in markdown
    # JPY has no minor unit on Meta: daily_budget 5000 is 5,000 yen; the new ad set is paused, so the
    # total that can spend stays 0 (it used to count as +5,000 a day).
    assert "| JPY | 0 JPY | – | 0 JPY |" in markdown
    assert "| acme-japan | meta-jp | none → 5,000 JPY | – | ⏸️ paused |" in markdown
    assert "| acme-spring | snap-us | 20.00 USD → none | – | ⏹️ stops |" in markdown
    assert "> ⚠️ **Starts spending:** acme-summer on tiktok-us\n" in markdown


def test_markdown_escapes_values():
    markdown = render_markdown(sample_plan())
    assert "- ⚠️ creative \\`summer-html\\` (text/html)" in markdown
    plan = sample_plan()
    plan.warnings = ["a | b <script> **x**"]
    assert "- ⚠️ a \\| b &lt;script&gt; \\*\\*x\\*\\*" in render_markdown(plan)


def test_markdown_diff_prefixes():
    markdown = render_markdown(sample_plan())
    block = markdown.split("```diff\n", 1)[1].split("\n```", 1)[0]
    assert all(line[:1] in ("+", "-", "!", "") for line in block.splitlines())
    assert '! bs-main:campaign/acme-summer\n!     end_date = "2026-08-31" -> "2026-09-15"' in block
    assert "-/+ bs-main:advertisement/summer-html (cannot change in place: html)\n!     html = " in block


def test_markdown_fence_outlasts_backticks_in_values():
    plan = sample_plan()
    change = plan.change("bs-main:zone/home-leaderboard")
    plan.changes[plan.changes.index(change)] = _change(change.address, Action.CREATE, attributes={"name": "```x```"})
    assert "````diff\n" in render_markdown(plan)


def test_markdown_details_limit():
    plan = sample_plan()
    full = render_markdown(plan)
    assert full.count("<details>") == 5
    limited = render_markdown(plan, details_limit=len(full) - 1)
    assert len(limited) <= len(full) - 1
    assert limited.count("<details>") == 4
    assert "snap-us" not in limited.split("**Warnings**")[1]
    assert limited.endswith("… 1 more target omitted; the full plan is in the job artifact.\n")
    tiny = render_markdown(plan, details_limit=10)
    assert "<details>" not in tiny and "… 5 more targets omitted" in tiny


# ------------------------------------------------------------------ json / plan file


def test_json_contract():
    plan = sample_plan()
    data = json.loads(render_json(plan))
    assert data["format_version"] == "1"
    assert data["state"] == {"lineage": "2f9c7c1e-8d5b-4c1a-9e0f-3b6a1d2c4e5f", "serial": 7}
    assert data["summary"] == {"create": 8, "update": 3, "replace": 4, "delete": 3, "noop": 3}
    assert [c["address"] for c in data["changes"]] == [c.address for c in plan.changes]
    update = data["changes"][2]
    assert {"address", "target", "type", "action", "before", "after", "changed_fields", "depends_on"} <= set(update)
    assert update["changed_fields"] == ["end_date"] and update["depends_on"] == ["bs-main:advertiser/acme"]
    assert update["refs"] == {"advertiser_id": "bs-main:advertiser/acme"} and update["id"] == "71544"
    assert "reason" not in update and data["changes"][4]["reason"] == "cannot change in place: html"
    create = data["changes"][1]
    assert create["before"] is None and "id" not in create and "asset" not in create
    assert data["changes"][9]["asset"]["sha256"] == SHA_NEW
    assert data["targets"]["snap-us"]["credentials"]["refresh_token_env"] == "SNAP_REFRESH_TOKEN"
    assert render_json(plan).endswith("}\n") and '\n  "changes": [\n    {\n      "action"' in render_json(plan)


def test_plan_file_round_trip(tmp_path):
    plan = sample_plan()
    path = tmp_path / "plan.json"
    path.write_text(render_json(plan), encoding="utf-8")
    loaded = read_plan_file(path)
    assert plan_from_json(plan_to_json(plan), "plan.json") == loaded
    # Everything comes back, except that desired attributes come back as `after`: with the refs
    # already filled in. Filling them at apply time gives the same attributes either way.
    saved = [
        dataclasses.replace(c, desired=dataclasses.replace(c.desired, attributes=c.after)) if c.desired else c
        for c in plan.changes
    ]
    # A delete built without a delete_mode is saved, and read back, as a hard delete.
    saved = [dataclasses.replace(c, delete_mode="delete") if c.action is Action.DELETE else c for c in saved]
    assert loaded == Plan(saved, plan.warnings, plan.lineage, plan.serial, plan.targets)
    new_ids = {address: f"new-{i}" for i, address in enumerate(NEW_IDS | IDS.keys())}
    for original, back in zip(plan.changes, loaded.changes, strict=True):
        if original.desired:
            assert (
                resolve_refs(back.desired.attributes, back.desired.refs, new_ids.get)[0]
                == resolve_refs(original.desired.attributes, original.desired.refs, new_ids.get)[0]
            )


def test_attributes_must_already_be_json_safe():
    plan = sample_plan()
    plan.changes[1] = _change("bs-main:zone/home-leaderboard", Action.CREATE, attributes={"start": dt.date(2026, 6, 1)})
    with pytest.raises(TypeError):
        render_json(plan)


def _broken(mutate):
    data = json.loads(render_json(sample_plan()))
    mutate(data)
    return data


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format_version="2"), 'format_version: "2" is not supported'),
        (lambda d: d.pop("format_version"), 'missing key "format_version"'),
        (lambda d: d.pop("changes"), 'missing key "changes"'),
        (lambda d: d["state"].update(serial="7"), "at state.serial: expected an integer, got a string"),
        (lambda d: d["changes"][3].pop("action"), 'at changes[3]: missing key "action"'),
        (lambda d: d["changes"][3].update(action="destroy"), "at changes[3].action: unknown action 'destroy'"),
        (lambda d: d["changes"][2].pop("id"), "a update needs the recorded platform id"),
        (lambda d: d["changes"][1].update(after=None), "changes[1].after: is null, but a create needs"),
        (lambda d: d["changes"][1].update(target="meta-us"), "changes[1].target: does not match the address"),
        (lambda d: d["changes"][0].update(address="acme"), "changes[0].address: not a resource address"),
        (lambda d: d["changes"][0].update(depends_on=[1]), "changes[0].depends_on[0]: expected a string"),
        (lambda d: d["targets"].pop("bs-main"), "changes[0].target: 'bs-main' is not in \"targets\""),
        (lambda d: d["targets"]["bs-main"].update(platform="x"), "targets.bs-main.platform: unknown platform"),
        (lambda d: d["summary"].update(create=0), "at summary: "),
        (lambda d: d["warnings"].append(None), "warnings[1]: expected a string, got null"),
    ],
)
def test_malformed_plan_file(mutate, message):
    with pytest.raises(ReconcilerError) as info:
        plan_from_json(_broken(mutate), "out/plan.json")
    assert str(info.value).startswith("out/plan.json: invalid plan file")
    assert message in str(info.value)


def test_plan_file_not_an_object_or_not_json(tmp_path):
    with pytest.raises(ReconcilerError, match="plan.json: invalid plan file: expected a JSON object, got a list"):
        plan_from_json([], "plan.json")
    path = tmp_path / "plan.json"
    path.write_text('{"format_version": "1",\n  "state": }', encoding="utf-8")
    with pytest.raises(ReconcilerError, match=r"plan.json: invalid plan file at line 2 column 12: not valid JSON"):
        read_plan_file(path)
    with pytest.raises(ReconcilerError, match="cannot read the plan file"):
        read_plan_file(tmp_path / "missing.json")
