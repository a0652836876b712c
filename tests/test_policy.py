"""Policies as specs (issue 11 item 2), through the real command over the in-process sandbox.

The shared project (tests/conftest.py SPECS): campaign `summer`, 50.00 USD a day on each of
meta-us, tiktok-us and snap-us (150.00 USD a day in all) and on bs-main (no budget).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from reconciler.plan.planfile import read_plan_file
from reconciler.plan.render import render_markdown
from reconciler.policy.document import FreezeWindow
from tests import provider_kit as kit
from tests.conftest import SPECS, png_bytes

ENV = ("BROADSTREET_API_TOKEN", "META_ACCESS_TOKEN", "TIKTOK_ACCESS_TOKEN", "SNAP_REFRESH", "SNAP_ID", "SNAP_SECRET")
FREEZE = """\
freeze:
  - {from: "2026-11-26T00:00", to: "2026-11-30T23:59", timezone: America/New_York, reason: Thanksgiving freeze}
"""


def policy(body: str, name: str = "spend-guard", enforcement: str = "hard") -> str:
    return f"kind: Policy\nname: {name}\nenforcement: {enforcement}\n{body}"


@pytest.fixture
def reconciler(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> kit.Cli:
    for variable in ENV:
        monkeypatch.delenv(variable, raising=False)  # --sandbox fills in placeholders
    monkeypatch.setenv("RECONCILER_NOW", "2026-06-15T12:00:00Z")  # outside every freeze below
    kit.write_specs(tmp_path, SPECS, {"banner.png": png_bytes(1)})
    return kit.Cli(capsys, tmp_path)


def write_policies(project: Path, *documents: str) -> None:
    (project / "specs" / "policies.yaml").write_text("---\n".join(documents))


def plan_json(reconciler: kit.Cli, *args: str) -> tuple[int, dict[str, Any]]:
    code, out = reconciler("plan", "--sandbox", "--format", "json", *args)
    return code, json.loads(out[: out.rindex("}") + 1])


def rules(data: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(v["rule"], v["address"]) for v in data["violations"]]


# ---------------------------------------------------------------- budget rules


@pytest.mark.parametrize(
    ("rule", "limit", "address", "value"),
    [
        ("per_campaign", "100", "Campaign/summer", "150.00"),
        ("per_target", "40", "meta-us", "50.00"),
        ("total", "149.99", None, "150.00"),
    ],
)
def test_max_daily_budget_violated(reconciler: kit.Cli, rule: str, limit: str, address: str | None, value: str) -> None:
    write_policies(reconciler.project, policy(f"max_daily_budget: {{{rule}: {limit}, currency: USD}}\n"))
    code, data = plan_json(reconciler)
    assert code == 1
    found = [v for v in data["violations"] if v["address"] == address]
    assert found and found[0]["rule"] == f"max_daily_budget.{rule}"
    assert found[0]["value"] == value and found[0]["enforcement"] == "hard" and found[0]["policy"] == "spend-guard"
    if rule == "per_target":  # each social target is at 50.00; Broadstreet has no budget
        assert sorted(v["address"] for v in data["violations"]) == ["meta-us", "snap-us", "tiktok-us"]
    code, out = reconciler("plan", "--sandbox")
    assert code == 1
    assert "Policy violations:" in out and f"max_daily_budget.{rule}" in out
    assert out.index("Policy violations:") < out.rindex("Plan: ")


def test_a_plan_without_changes_breaks_nothing(reconciler: kit.Cli) -> None:
    reconciler.apply()
    write_policies(reconciler.project, policy("max_daily_budget: {total: 100, currency: USD}\n"))
    code, data = plan_json(reconciler, "--detailed-exitcode")
    assert (code, data["violations"]) == (0, [])
    # The next change is judged with the whole budget after it.
    main = reconciler.project / "specs" / "main.yaml"
    main.write_text(SPECS.replace("headline: Summer sale", "headline: Summer sale!"))
    code, data = plan_json(reconciler)
    assert code == 1 and rules(data) == [("max_daily_budget.total", None)]


def test_max_daily_budget_passed(reconciler: kit.Cli) -> None:
    write_policies(
        reconciler.project,
        policy("max_daily_budget: {per_campaign: 150, per_target: 50, total: 150, currency: USD}\n"),
    )
    code, data = plan_json(reconciler)
    assert (code, data["violations"]) == (0, [])
    code, _ = reconciler("plan", "--sandbox", "--detailed-exitcode")
    assert code == 2  # changes, no violation
    reconciler.apply()


def test_violation_exits_1_with_detailed_exitcode_and_apply_refuses(reconciler: kit.Cli) -> None:
    write_policies(reconciler.project, policy("max_daily_budget: {total: 100, currency: USD}\n"))
    code, out = reconciler("plan", "--sandbox", "--detailed-exitcode")
    assert code == 1 and "max_daily_budget.total" in out
    code, out = reconciler("apply", "--sandbox", "--auto-approve")
    assert code == 1
    assert "breaks 1 policy rule, so nothing was sent" in out and "spend-guard" in out
    code, out = reconciler("state", "--sandbox", "list")
    assert out.strip() == ""  # nothing was recorded: nothing was sent


def test_max_daily_increase(reconciler: kit.Cli) -> None:
    reconciler.apply()  # 150.00 USD a day
    main = reconciler.project / "specs" / "main.yaml"
    main.write_text(SPECS.replace("budget: {daily: 50.00", "budget: {daily: 100.00"))  # -> 300.00: +150, +100%
    write_policies(reconciler.project, policy("max_daily_increase: {amount: 100, percent: 50, currency: USD}\n"))
    code, data = plan_json(reconciler)
    assert code == 1
    by_rule = {v["rule"]: v for v in data["violations"]}
    assert by_rule["max_daily_increase.amount"]["value"] == "150.00"
    assert by_rule["max_daily_increase.amount"]["limit"] == "100.00"
    assert by_rule["max_daily_increase.percent"]["value"] == "100.00%"
    assert by_rule["max_daily_increase.amount"]["address"] is None
    write_policies(reconciler.project, policy("max_daily_increase: {amount: 150, percent: 100, currency: USD}\n"))
    code, data = plan_json(reconciler)
    assert (code, data["violations"]) == (0, [])


def test_percent_is_not_judged_from_zero(reconciler: kit.Cli) -> None:
    """From 0.00 a day any increase is infinite percent: only `amount` judges a first launch."""
    write_policies(reconciler.project, policy("max_daily_increase: {percent: 10, currency: USD}\n"))
    code, data = plan_json(reconciler)
    assert (code, data["violations"]) == (0, [])


def test_another_currency_is_not_compared(reconciler: kit.Cli) -> None:
    write_policies(
        reconciler.project,
        policy(
            "max_daily_budget: {per_campaign: 1, per_target: 1, total: 1, currency: EUR}\n"
            "max_daily_increase: {amount: 1, currency: EUR}\n"
        ),  # fmt: skip
    )
    code, data = plan_json(reconciler)
    assert (code, data["violations"]) == (0, [])
    reconciler.apply()


# ---------------------------------------------------------------- hard, soft, overrides


def test_hard_policy_cannot_be_overridden(reconciler: kit.Cli) -> None:
    write_policies(reconciler.project, policy("max_daily_budget: {total: 100, currency: USD}\n"))
    for command in ("plan", "apply"):
        code, out = reconciler(command, "--sandbox", "--override-policy", "spend-guard", "--reason", "launch")
        assert code == 1
        assert "policy spend-guard is hard and cannot be overridden" in out


def test_override_needs_a_reason_and_a_known_policy(reconciler: kit.Cli) -> None:
    write_policies(reconciler.project, policy("max_daily_budget: {total: 100, currency: USD}\n", enforcement="soft"))
    code, out = reconciler("plan", "--sandbox", "--override-policy", "spend-guard")
    assert code == 1 and "--override-policy needs --reason" in out
    code, out = reconciler("plan", "--sandbox", "--override-policy", "spend-gaurd", "--reason", "x")
    assert code == 1 and "no Policy of that name" in out and "spend-guard" in out


def test_soft_policy_overridden_with_reason(reconciler: kit.Cli, tmp_path: Path) -> None:
    write_policies(
        reconciler.project,
        policy("max_daily_budget: {total: 100, currency: USD}\n", enforcement="soft"),
        policy("protect: ['bs-main:campaign/*']\n", name="keep-live"),  # hard, not broken
    )
    code, out = reconciler("plan", "--sandbox")
    assert code == 1 and "[soft] spend-guard max_daily_budget.total" in out
    code, out = reconciler("apply", "--sandbox", "--auto-approve")
    assert code == 1 and '--override-policy spend-guard --reason "why"' in out

    reason = "Black Friday launch, approved by finance (JIRA-42)"
    plan_file = tmp_path / "plan.json"
    args = ("--override-policy", "spend-guard", "--reason", reason)
    code, out = reconciler("plan", "--sandbox", "--out", str(plan_file), *args)
    assert code == 0, out
    assert "[overridden (soft)] spend-guard max_daily_budget.total" in out
    assert f"Policy overrides:\n  spend-guard: {reason}" in out
    saved = json.loads(plan_file.read_text())
    assert saved["overrides"] == [{"policy": "spend-guard", "reason": reason}]
    assert [(v["policy"], v["overridden"]) for v in saved["violations"]] == [("spend-guard", True)]

    code, comment = reconciler("plan", "--sandbox", "--format", "markdown", *args)
    assert code == 0
    assert comment.index("Policy violations") < comment.index("Plan: ")
    assert (
        "| spend-guard | max\\_daily\\_budget.total | (whole plan) | 100.00 | 150.00 | soft | overridden |" in comment
    )
    assert "`spend-guard`: Black Friday launch, approved by finance (JIRA-42)" in comment

    # `reconciler github comment --plan FILE` renders the saved plan: the override is in it.
    saved_comment = render_markdown(read_plan_file(plan_file))
    assert "`spend-guard`: Black Friday launch" in saved_comment and "| soft | overridden |" in saved_comment

    # The saved plan keeps its override: applying it needs no flag again.
    code, out = reconciler("apply", "--sandbox", str(plan_file), "--auto-approve")
    assert code == 0, out
    assert "Apply complete" in out


def test_apply_with_override(reconciler: kit.Cli) -> None:
    write_policies(reconciler.project, policy(FREEZE, enforcement="soft"))
    code, out = reconciler("plan", "--sandbox", "--reason", "no name")
    assert code == 1 and "--reason goes with --override-policy NAME" in out
    with pytest.MonkeyPatch.context() as m:
        m.setenv("RECONCILER_NOW", "2026-11-27T12:00:00Z")
        code, out = reconciler("apply", "--sandbox", "--auto-approve")
        assert code == 1 and "Thanksgiving freeze" in out
        code, out = reconciler(
            "apply", "--sandbox", "--auto-approve", "--override-policy", "spend-guard", "--reason", "hotfix"
        )
        assert code == 0, out
        assert "Policy overrides:\n  spend-guard: hotfix" in out and "Apply complete" in out


def test_pr_comment_of_a_violating_plan(reconciler: kit.Cli) -> None:
    write_policies(reconciler.project, policy("max_daily_budget: {per_campaign: 100, currency: USD}\n"))
    code, comment = reconciler("plan", "--sandbox", "--format", "markdown")
    assert code == 1
    head = comment.split("\n\n")
    assert head[0] == "### reconciler plan"
    assert head[1].startswith("> 🛑 **Policy violations:** 1 rule broken; `reconciler apply` refuses this plan.")
    assert "| spend-guard | max\\_daily\\_budget.per\\_campaign | Campaign/summer | 100.00 | 150.00 | hard |" in comment


# ---------------------------------------------------------------- freeze


def test_freeze_window(reconciler: kit.Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    write_policies(reconciler.project, policy(FREEZE))
    plan_file = tmp_path / "before.json"
    code, out = reconciler("plan", "--sandbox", "--out", str(plan_file))  # June: no freeze
    assert code == 0 and "Policy violations" not in out

    # 2026-11-27 12:00 UTC is 07:00 in New York: inside the window.
    monkeypatch.setenv("RECONCILER_NOW", "2026-11-27T12:00:00Z")
    code, out = reconciler("plan", "--sandbox")
    assert code == 1
    assert "Plan: 20 to create" in out  # the plan still renders
    assert "spend-guard freeze: changes are frozen from 2026-11-26T00:00 to 2026-11-30T23:59 America/New_York" in out
    assert "(Thanksgiving freeze); it is now 2026-11-27T07:00 there" in out
    code, data = plan_json(reconciler)
    assert rules(data) == [("freeze", None)]
    assert data["violations"][0]["value"] == "2026-11-27T07:00-05:00"
    code, out = reconciler("apply", "--sandbox", "--auto-approve")
    assert code == 1 and "Thanksgiving freeze" in out and "nothing was sent" in out
    # A plan saved before the freeze is judged again when it is applied.
    code, out = reconciler("apply", "--sandbox", str(plan_file), "--auto-approve")
    assert code == 1 and "Thanksgiving freeze" in out

    # 23:59 is the last minute of the window; 2026-12-01 00:00 New York (05:00 UTC) is out.
    monkeypatch.setenv("RECONCILER_NOW", "2026-12-01T04:59:30Z")
    assert reconciler("plan", "--sandbox")[0] == 1
    monkeypatch.setenv("RECONCILER_NOW", "2026-12-01T05:00:00Z")
    assert reconciler("plan", "--sandbox")[0] == 0
    reconciler.apply()
    # A plan with nothing to do breaks no freeze.
    monkeypatch.setenv("RECONCILER_NOW", "2026-11-27T12:00:00Z")
    assert reconciler("plan", "--sandbox", "--detailed-exitcode")[0] == 0


def test_bad_now_is_an_error(reconciler: kit.Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    write_policies(reconciler.project, policy(FREEZE))
    monkeypatch.setenv("RECONCILER_NOW", "thanksgiving")
    code, out = reconciler("plan", "--sandbox")
    assert code == 1 and "RECONCILER_NOW='thanksgiving' is not an ISO 8601 time" in out


def test_plan_file_override_must_match(reconciler: kit.Cli, tmp_path: Path) -> None:
    write_policies(reconciler.project, policy("max_daily_budget: {total: 100, currency: USD}\n", enforcement="soft"))
    plan_file = tmp_path / "plan.json"
    reconciler("plan", "--sandbox", "--out", str(plan_file), "--override-policy", "spend-guard", "--reason", "ok")
    data = json.loads(plan_file.read_text())
    data["overrides"] = []
    plan_file.write_text(json.dumps(data))
    code, out = reconciler("apply", "--sandbox", str(plan_file), "--auto-approve")
    assert code == 1 and 'no override of policy "spend-guard" in "overrides"' in out


def test_freeze_window_bounds() -> None:
    window = FreezeWindow.model_validate({"from": "2026-11-26T00:00", "to": "2026-11-30T23:59", "timezone": "UTC"})
    utc = dt.UTC
    assert not window.contains(dt.datetime(2026, 11, 25, 23, 59, 59, tzinfo=utc))
    assert window.contains(dt.datetime(2026, 11, 26, tzinfo=utc))
    assert window.contains(dt.datetime(2026, 11, 30, 23, 59, 59, tzinfo=utc))
    assert not window.contains(dt.datetime(2026, 12, 1, tzinfo=utc))


# ---------------------------------------------------------------- protect


def test_protect(reconciler: kit.Cli) -> None:
    reconciler.apply()
    write_policies(reconciler.project, policy("protect: ['bs-main:campaign/*', 'meta-us:adset/*']\n"))
    head, _, _ = SPECS.partition("kind: Campaign\n")
    (reconciler.project / "specs" / "main.yaml").write_text(head.rstrip("-\n") + "\n")  # the campaign leaves
    code, data = plan_json(reconciler)
    assert code == 1
    assert sorted(rules(data)) == [("protect", "bs-main:campaign/summer"), ("protect", "meta-us:adset/summer")]
    assert {v["limit"] for v in data["violations"]} == {"bs-main:campaign/*", "meta-us:adset/*"}
    assert {v["value"] for v in data["violations"]} == {"delete"}
    before = reconciler("state", "--sandbox", "list")[1]
    code, out = reconciler("apply", "--sandbox", "--auto-approve")
    assert code == 1 and "bs-main:campaign/summer is protected (bs-main:campaign/*) and would be deleted" in out
    assert reconciler("state", "--sandbox", "list")[1] == before  # nothing deleted


def test_protect_passes_updates(reconciler: kit.Cli) -> None:
    reconciler.apply()
    write_policies(reconciler.project, policy("protect: ['*']\n"))
    main = reconciler.project / "specs" / "main.yaml"
    main.write_text(SPECS.replace("budget: {daily: 50.00", "budget: {daily: 60.00"))
    code, data = plan_json(reconciler)
    assert (code, data["violations"]) == (0, [])
    reconciler.apply()


# ---------------------------------------------------------------- scope


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("{targets: [meta-us]}", ["meta-us"]),
        ("{targets: [bs-main]}", []),  # Broadstreet has no budgets
        ("{labels: {team: growth}}", ["meta-us", "snap-us", "tiktok-us"]),
        ("{labels: {team: brand}}", []),
        ("{targets: [snap-us], labels: {team: growth}}", ["snap-us"]),
    ],
)
def test_scope(reconciler: kit.Cli, scope: str, expected: list[str]) -> None:
    main = reconciler.project / "specs" / "main.yaml"
    main.write_text(
        SPECS.replace("kind: Campaign\nname: summer\n", "kind: Campaign\nname: summer\nlabels: {team: growth}\n")
    )
    write_policies(reconciler.project, policy(f"max_daily_budget: {{per_target: 40, currency: USD}}\nscope: {scope}\n"))
    code, data = plan_json(reconciler)
    assert sorted(v["address"] for v in data["violations"]) == expected
    assert code == (1 if expected else 0)


def test_scope_limits_protect(reconciler: kit.Cli) -> None:
    reconciler.apply()
    write_policies(reconciler.project, policy("protect: ['*']\nscope: {targets: [meta-us]}\n"))
    head, _, _ = SPECS.partition("kind: Campaign\n")
    (reconciler.project / "specs" / "main.yaml").write_text(head.rstrip("-\n") + "\n")
    code, data = plan_json(reconciler)
    assert code == 1
    assert {v["address"].split(":")[0] for v in data["violations"]} == {"meta-us"}


# ---------------------------------------------------------------- bad documents


@pytest.mark.parametrize(
    ("body", "where", "message"),
    [
        ("enforcement: medium\n", ":3: enforcement", "invalid value 'medium'; use one of hard, soft"),
        ("max_daily_budget: {total: 10}\n", ":3: max_daily_budget.currency", "missing required field `currency`"),
        ("max_daily_budget: {currency: USD}\n", ":3: max_daily_budget", "give at least one of `per_campaign`"),
        ("max_daily_increase: {amount: -5, currency: USD}\n", ":3: max_daily_increase.amount", "greater than 0"),
        (
            "freeze:\n  - {from: '2026-11-26T00:00', to: '2026-11-30T23:59', timezone: America/Gotham}\n",
            ":4: freeze.0.timezone",
            "not an IANA time zone name",
        ),
        (
            "freeze:\n  - {from: '2026-11-30T00:00', to: '2026-11-26T00:00'}\n",
            ":4: freeze.0",
            "is before `from`",
        ),
        ("protekt: ['*']\n", ":3: protekt", "unknown field `protekt`"),
        ("scope: {targets: [meta-eu]}\n", ":3: scope.targets.0", "`meta-eu` is not a declared Target"),
    ],
)
def test_bad_policy_is_a_spec_error(reconciler: kit.Cli, body: str, where: str, message: str) -> None:
    (reconciler.project / "specs" / "policies.yaml").write_text(f"kind: Policy\nname: guard\n{body}")
    code, out = reconciler("validate")
    assert code == 1
    assert f"specs/policies.yaml{where}" in out, out
    assert message in out, out
