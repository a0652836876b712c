"""Spend in every plan (issue 11 item 1), through the real command over the in-process sandbox.

The shared four-platform project (tests/conftest.py SPECS): one campaign `summer`, 50.00 USD a day,
on Broadstreet (no budget field, but it delivers), Meta (ad set daily_budget in cents), TikTok
(ad group budget + budget_mode) and Snapchat (ad squad daily_budget_micro).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from reconciler.model import Action, Change, Plan, TargetConfig
from reconciler.plan.spend import format_amount, spend_of
from tests import provider_kit as kit
from tests.conftest import SPECS, png_bytes

ENV = ("BROADSTREET_API_TOKEN", "META_ACCESS_TOKEN", "TIKTOK_ACCESS_TOKEN", "SNAP_REFRESH", "SNAP_ID", "SNAP_SECRET")
SOCIAL = {
    "meta-us": "meta-us:adset/summer",
    "tiktok-us": "tiktok-us:adgroup/summer",
    "snap-us": "snap-us:adsquad/summer",
}
BROADSTREET = "bs-main:campaign/summer"


def spec(budget: str = "daily: 50.00", *, paused: bool = False, campaign: bool = True) -> str:
    text = SPECS.replace("budget: {daily: 50.00", "budget: {" + budget)
    if paused:
        text = text.replace("objective: traffic\n", "objective: traffic\npaused: true\n")
    if not campaign:  # the Campaign and its Placement leave the specs; targets, creatives and zone stay
        head, _, rest = text.partition("kind: Campaign\n")
        text = head.rstrip("-\n") + "\n"
    return text


@pytest.fixture
def reconciler(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> kit.Cli:
    for variable in ENV:
        monkeypatch.delenv(variable, raising=False)  # --sandbox fills in placeholders
    kit.write_specs(tmp_path, spec(), {"banner.png": png_bytes(1)})
    return kit.Cli(capsys, tmp_path)


def write(project: Path, text: str) -> None:
    (project / "specs" / "main.yaml").write_text(text)


def plan_json(reconciler: kit.Cli) -> dict[str, Any]:
    code, out = reconciler("plan", "--sandbox", "--format", "json")
    assert code == 0, out
    return json.loads(out)["spend"]


def plan_text(reconciler: kit.Cli) -> str:
    code, out = reconciler("plan", "--sandbox")
    assert code == 0, out
    return out


def items(spend: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["address"]: item for item in spend["items"]}


def item(
    address: str,
    daily: tuple[str | None, str | None] = (None, None),
    lifetime: tuple[str | None, str | None] = (None, None),
    *,
    starts: bool = False,
    stops: bool = False,
) -> dict[str, Any]:
    target = address.split(":")[0]
    return {
        "campaign": "summer",
        "target": target,
        "address": address,
        "currency": None if target == "bs-main" else "USD",
        "daily_before": daily[0],
        "daily_after": daily[1],
        "lifetime_before": lifetime[0],
        "lifetime_after": lifetime[1],
        "starts_spending": starts,
        "stops_spending": stops,
    }


def totals(daily: tuple[str, str], lifetime: tuple[str, str] = ("0.00", "0.00")) -> dict[str, Any]:
    return {
        "USD": {
            "daily_before": daily[0],
            "daily_after": daily[1],
            "lifetime_before": lifetime[0],
            "lifetime_after": lifetime[1],
        }
    }


def test_new_campaigns_start_spending_on_all_four_platforms(reconciler: kit.Cli) -> None:
    spend = plan_json(reconciler)
    assert spend["currencies"] == totals(("0.00", "150.00"))
    expected = {a: item(a, (None, "50.00"), starts=True) for a in SOCIAL.values()}
    expected[BROADSTREET] = item(BROADSTREET, starts=True)  # no budget, but it starts delivering
    assert items(spend) == expected

    text = plan_text(reconciler)
    section = text[text.index("Spend") : text.index("Resource actions")]  # in the summary, before the changes
    assert "  USD daily    0.00 USD -> 150.00 USD (+150.00 USD)\n" in section
    assert "  USD lifetime 0.00 USD -> 0.00 USD (no change)\n" in section
    assert "    meta-us    daily none -> 50.00 USD (new, starts spending)\n" in section
    assert "    bs-main    no budget on Broadstreet (new, starts spending)\n" in section
    assert "5000" not in section and "50000000" not in section  # never cents or micros

    code, markdown = reconciler("plan", "--sandbox", "--format", "markdown")
    assert code == 0
    assert "> ⚠️ **Starts spending:** summer on bs-main, meta-us, snap-us, tiktok-us\n" in markdown
    assert "| summer | tiktok-us | none → 50.00 USD | – | ▶️ starts |" in markdown
    assert "| USD | 0.00 USD → 150.00 USD | +150.00 USD | 0.00 USD |" in markdown


def test_a_daily_budget_change_is_an_item_per_platform_and_totals_count_unchanged_budgets(
    reconciler: kit.Cli, tmp_path: Path
) -> None:
    reconciler.apply()
    spend = plan_json(reconciler)
    assert spend == {"currencies": totals(("150.00", "150.00")), "items": []}  # no change: no items

    write(tmp_path, spec("daily: 75.00"))
    spend = plan_json(reconciler)
    assert spend["currencies"] == totals(("150.00", "225.00"))
    assert items(spend) == {a: item(a, ("50.00", "75.00")) for a in SOCIAL.values()}  # Broadstreet has no budget
    text = plan_text(reconciler)
    assert "    snap-us    daily 50.00 USD -> 75.00 USD\n" in text
    assert text.index("Spend (budgets") < text.rindex("Plan: 0 to create, 3 to update")
    code, markdown = reconciler("plan", "--sandbox", "--format", "markdown")
    assert "Starts spending" not in markdown and "| summer | meta-us | 50.00 USD → 75.00 USD | – |  |" in markdown


def test_a_lifetime_budget_counts_as_lifetime_not_as_a_daily_decrease(reconciler: kit.Cli, tmp_path: Path) -> None:
    reconciler.apply()
    write(tmp_path, spec("lifetime: 3000.00"))
    spend = plan_json(reconciler)
    # The daily budgets are gone, and the lifetime ones are there beside them: 3 x 3000.
    assert spend["currencies"] == totals(("150.00", "0.00"), ("0.00", "9000.00"))
    assert items(spend) == {a: item(a, ("50.00", None), (None, "3000.00")) for a in SOCIAL.values()}
    text = plan_text(reconciler)
    assert "  USD lifetime 0.00 USD -> 9,000.00 USD (+9,000.00 USD)\n" in text
    # budget_mode forces TikTok to replace the ad group (research: it cannot change in place)
    assert "    tiktok-us  daily 50.00 USD -> none, lifetime none -> 3,000.00 USD (replaced)\n" in text
    assert "    meta-us    daily 50.00 USD -> none, lifetime none -> 3,000.00 USD\n" in text


def test_pausing_stops_spending_and_unpausing_starts_it(reconciler: kit.Cli, tmp_path: Path) -> None:
    reconciler.apply()
    write(tmp_path, spec(paused=True))
    spend = plan_json(reconciler)
    assert spend["currencies"] == totals(("150.00", "0.00"))  # a paused budget spends nothing
    expected = {a: item(a, ("50.00", "50.00"), stops=True) for a in SOCIAL.values()}
    expected[BROADSTREET] = item(BROADSTREET, stops=True)
    assert items(spend) == expected
    assert "    meta-us    daily 50.00 USD (stops spending)\n" in plan_text(reconciler)

    reconciler.apply()
    write(tmp_path, spec())
    spend = plan_json(reconciler)
    assert spend["currencies"] == totals(("0.00", "150.00"))
    assert all(i["starts_spending"] and not i["stops_spending"] for i in spend["items"]) and len(spend["items"]) == 4
    code, markdown = reconciler("plan", "--sandbox", "--format", "markdown")
    assert "> ⚠️ **Starts spending:**" in markdown


def test_a_campaign_created_paused_carries_a_budget_but_does_not_spend(reconciler: kit.Cli, tmp_path: Path) -> None:
    write(tmp_path, spec(paused=True))
    spend = plan_json(reconciler)
    assert spend["currencies"] == totals(("0.00", "0.00"))
    # Broadstreet: no budget and no delivery change, so no item.
    assert items(spend) == {a: item(a, (None, "50.00")) for a in SOCIAL.values()}
    assert "    meta-us    daily none -> 50.00 USD (new, paused)\n" in plan_text(reconciler)
    code, markdown = reconciler("plan", "--sandbox", "--format", "markdown")
    assert "Starts spending" not in markdown and "⏸️ paused" in markdown


def test_deleting_a_campaign_stops_its_spending_on_all_four_platforms(reconciler: kit.Cli, tmp_path: Path) -> None:
    reconciler.apply()
    write(tmp_path, spec(campaign=False))
    spend = plan_json(reconciler)
    assert spend["currencies"] == totals(("150.00", "0.00"))
    expected = {a: item(a, ("50.00", None), stops=True) for a in SOCIAL.values()}
    expected[BROADSTREET] = item(BROADSTREET, stops=True)
    assert items(spend) == expected
    text = plan_text(reconciler)
    assert "    tiktok-us  daily 50.00 USD -> none (deleted, stops spending)\n" in text
    assert "    bs-main    no budget on Broadstreet (deleted, stops spending)\n" in text


def test_a_saved_plan_with_an_edited_spend_is_refused(reconciler: kit.Cli, tmp_path: Path) -> None:
    code, out = reconciler("plan", "--sandbox", "--out", str(tmp_path / "plan.json"))
    assert code == 0, out
    data = json.loads((tmp_path / "plan.json").read_text())
    data["spend"]["currencies"]["USD"]["daily_after"] = "1.00"
    (tmp_path / "plan.json").write_text(json.dumps(data))
    code, out = reconciler("apply", "--sandbox", "--auto-approve", str(tmp_path / "plan.json"))
    assert code == 1 and "invalid plan file at spend: does not match the budgets of the changes" in out, out


# ------------------------------------------------------------------ units


def _plan(*changes: Change, platform: str = "meta") -> Plan:
    return Plan(list(changes), targets={"t": TargetConfig("t", platform)})


def _update(address: str, before: dict[str, Any], after: dict[str, Any]) -> Change:
    return Change(address, "t", address.split(":")[1].split("/")[0], Action.UPDATE, before, after)


def test_zero_decimal_currencies_have_no_minor_unit_on_meta() -> None:
    before = {"status": "ACTIVE", "currency": "JPY", "daily_budget": 5000}
    spend = spend_of(_plan(_update("t:adset/jp", before, {**before, "daily_budget": 12000})))
    assert spend.to_json()["currencies"]["JPY"]["daily_after"] == "12000"
    assert format_amount(spend.total("JPY").daily_after, "JPY") == "12,000 JPY"


def test_a_paused_campaign_stops_its_active_ad_set_from_spending() -> None:
    campaign = {"status": "ACTIVE"}
    adset = {"status": "ACTIVE", "currency": "USD", "daily_budget": 2000}
    spend = spend_of(_plan(_update("t:campaign/c", campaign, {"status": "PAUSED"}), _update("t:adset/c", adset, adset)))
    [only] = spend.items
    assert only.address == "t:adset/c" and only.stops_spending
    assert spend.total("USD").daily_before == Decimal(20) and spend.total("USD").daily_after == 0


def test_accessors_per_campaign_target_and_total() -> None:
    def adset(name: str, target: str, before: int, after: int) -> Change:
        b = {"status": "ACTIVE", "currency": "USD", "daily_budget": before}
        return Change(f"{target}:adset/{name}", target, "adset", Action.UPDATE, b, {**b, "daily_budget": after})

    plan = Plan(
        [adset("a", "m1", 1000, 3000), adset("a", "m2", 1000, 1000), adset("b", "m1", 500, 500)],
        targets={"m1": TargetConfig("m1", "meta"), "m2": TargetConfig("m2", "meta")},
    )
    spend = spend_of(plan)
    assert spend.total("USD").daily_increase == Decimal(20)
    assert {k: v.daily_after for k, v in spend.per_campaign("USD").items()} == {"a": 40, "b": 5}
    assert {k: v.daily_after for k, v in spend.per_target("USD").items()} == {"m1": 35, "m2": 10}
    assert spend.per_campaign_and_target("USD")[("a", "m1")].daily_before == 10
    assert spend.only(lambda s: s.target == "m2").total("USD").daily_after == 10
    assert [s.address for s in spend.items] == ["m1:adset/a"]


def test_tiktok_total_and_snapchat_micros() -> None:
    tiktok = {"operation_status": "ENABLE", "currency": "USD", "budget_mode": "BUDGET_MODE_TOTAL", "budget": 900.5}
    spend = spend_of(_plan(Change("t:adgroup/x", "t", "adgroup", Action.CREATE, None, tiktok), platform="tiktok"))
    assert spend.to_json()["currencies"]["USD"] == {
        "daily_before": "0.00",
        "daily_after": "0.00",
        "lifetime_before": "0.00",
        "lifetime_after": "900.50",
    }
    squad = {"status": "ACTIVE", "currency": "EUR", "daily_budget_micro": 12_345_000}
    spend = spend_of(_plan(Change("t:adsquad/x", "t", "adsquad", Action.DELETE, squad, None), platform="snapchat"))
    [only] = spend.to_json()["items"]
    assert only["daily_before"] == "12.345" and only["stops_spending"] and only["currency"] == "EUR"


def test_a_campaign_budget_override_is_counted_in_the_currency_of_its_ad_set() -> None:
    campaign = {"status": "ACTIVE", "daily_budget": 3000}  # overrides: {meta: {campaign: {daily_budget: 3000}}}
    adset = {"status": "ACTIVE", "currency": "JPY"}
    spend = spend_of(
        _plan(
            Change("t:campaign/c", "t", "campaign", Action.CREATE, None, campaign),
            Change("t:adset/c", "t", "adset", Action.CREATE, None, adset),
        )
    )
    assert spend.to_json()["currencies"]["JPY"]["daily_after"] == "3000"
    assert [s.address for s in spend.items] == ["t:campaign/c", "t:adset/c"]
