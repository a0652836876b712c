from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.spec.compile import compile_specs
from reconciler.spec.loader import load_specs


def compiled(project: Path):
    return compile_specs(load_specs(project))


def by_address(project: Path) -> dict:
    return {r.address: r for r in compiled(project).resources}


def test_addresses_follow_the_naming_contract(project: Path) -> None:
    assert set(by_address(project)) == {
        "bs-main:zone/home-lb",
        "bs-main:advertiser/acme",
        "bs-main:campaign/summer",
        "bs-main:advertisement/banner",
        "bs-main:advertisement/teaser",
        "bs-main:placement/summer.banner.home-lb",
        "meta-us:campaign/summer",
        "meta-us:adset/summer",
        "meta-us:adimage/banner",
        "meta-us:adcreative/summer.banner",
        "meta-us:ad/summer.banner",
        "tiktok-us:campaign/summer",
        "tiktok-us:adgroup/summer",
        "tiktok-us:image/banner",
        "tiktok-us:ad/summer.banner",
        "snap-us:campaign/summer",
        "snap-us:adsquad/summer",
        "snap-us:media/banner",
        "snap-us:creative/summer.banner",
        "snap-us:ad/summer.banner",
    }


def test_budgets_use_each_platforms_unit(project: Path) -> None:
    resources = by_address(project)
    assert resources["meta-us:adset/summer"].attributes["daily_budget"] == 5000  # cents
    assert resources["snap-us:adsquad/summer"].attributes["daily_budget_micro"] == 50_000_000
    adgroup = resources["tiktok-us:adgroup/summer"].attributes
    assert (adgroup["budget"], adgroup["budget_mode"]) == (50.0, "BUDGET_MODE_DAY")


def test_zero_decimal_currency_is_not_multiplied_for_meta(project: Path) -> None:
    specs = project / "specs" / "main.yaml"
    specs.write_text(specs.read_text().replace("currency: USD", "currency: JPY"))
    assert by_address(project)["meta-us:adset/summer"].attributes["daily_budget"] == 50


def test_html_creative_is_skipped_with_a_warning_where_it_cannot_show(project: Path) -> None:
    result = compiled(project)
    addresses = {r.address for r in result.resources}
    assert "bs-main:advertisement/teaser" in addresses
    assert not any("teaser" in a for a in addresses if not a.startswith("bs-main:"))
    assert sum("teaser" in w for w in result.warnings) == 3
    assert any("meta cannot show text/html" in w for w in result.warnings)


def test_dependencies_and_refs_point_at_parents(project: Path) -> None:
    resources = by_address(project)
    placement = resources["bs-main:placement/summer.banner.home-lb"]
    assert placement.refs == {
        "campaign_id": "bs-main:campaign/summer",
        "advertisement_id": "bs-main:advertisement/banner",
        "zone_id": "bs-main:zone/home-lb",
    }
    ad = resources["meta-us:ad/summer.banner"]
    assert ad.refs["creative.creative_id"] == "meta-us:adcreative/summer.banner"
    assert set(ad.depends_on) == {"meta-us:adset/summer", "meta-us:adcreative/summer.banner"}


def test_asset_hash_drives_content(project: Path) -> None:
    from tests.conftest import png_bytes

    before = by_address(project)["meta-us:adimage/banner"].attributes["asset_sha256"]
    (project / "specs" / "assets" / "banner.png").write_bytes(png_bytes(7))
    after = by_address(project)["meta-us:adimage/banner"].attributes["asset_sha256"]
    assert before != after and len(after) == 64


def test_snapchat_minimum_daily_budget_is_a_spec_error(project: Path) -> None:
    specs = project / "specs" / "main.yaml"
    specs.write_text(specs.read_text().replace("daily: 50.00", "daily: 2.50"))
    with pytest.raises(SpecError) as error:
        compiled(project)
    issue = error.value.issues[0]
    assert issue.file == "specs/main.yaml" and issue.line > 0 and issue.field == "budget.daily"
    assert "at least 5" in issue.message


def test_overrides_go_to_the_budget_carrier_or_the_named_type(project: Path) -> None:
    specs = project / "specs" / "main.yaml"
    specs.write_text(
        specs.read_text().replace(
            "objective: traffic",
            "objective: traffic\n"
            "overrides: {meta: {bid_strategy: LOWEST_COST_WITHOUT_CAP, campaign: {spend_cap: 900}}}",
        )
    )
    resources = by_address(project)
    assert resources["meta-us:adset/summer"].attributes["bid_strategy"] == "LOWEST_COST_WITHOUT_CAP"
    assert resources["meta-us:campaign/summer"].attributes["spend_cap"] == 900


def test_social_targets_need_a_budget_and_an_audience(project: Path) -> None:
    specs = project / "specs" / "main.yaml"
    text = specs.read_text().replace("budget: {daily: 50.00, currency: USD}\n", "")
    specs.write_text(text.replace("audience: {countries: [US], age_min: 18}\n", ""))
    with pytest.raises(SpecError) as error:
        compiled(project)
    issues = {(i.field, i.message.split(" ")[0]) for i in error.value.issues}
    assert issues == {(f, p) for f in ("budget", "audience") for p in ("meta", "tiktok", "snapchat")}
    assert all(i.file == "specs/main.yaml" and i.line > 0 for i in error.value.issues)
