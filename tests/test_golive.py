"""Review-gated go-live (activation: after_review) through the real command against `sandbox serve`."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler.apply import EventSink
from reconciler.golive import Gate, Member
from reconciler.golive.enable import format_duration, parse_duration
from reconciler.golive.hold import hold_replacements
from reconciler.model import Action, Change, Resource
from reconciler.project import Project
from reconciler.sandbox import PLATFORMS, snapchat
from tests.conftest import SPECS, png_bytes
from tests.e2e import Sandbox, run_reconciler, sandbox_server, start_reconciler
from tests.inprocess import InProcessSandbox

PREFIXES = {platform.name: platform.prefix for platform in PLATFORMS}
CREDENTIALS = ("META_ACCESS_TOKEN", "TIKTOK_ACCESS_TOKEN", "SNAP_REFRESH", "SNAP_ID", "SNAP_SECRET")
SOCIAL = {"meta": "meta-us", "tiktok": "tiktok-us", "snapchat": "snap-us"}
# What each platform calls live and paused, on the field go-live sets.
LIVE = {"meta": ("status", "ACTIVE", "PAUSED"), "tiktok": ("operation_status", "ENABLE", "DISABLE"),
        "snapchat": ("status", "ACTIVE", "PAUSED")}  # fmt: skip
GATED = {"meta": ("campaign", "adset", "ad"), "tiktok": ("campaign", "adgroup", "ad"),
         "snapchat": ("campaign", "adsquad", "ad")}  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[Sandbox]:
    with sandbox_server() as served:
        yield served


@pytest.fixture
def served(server: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    server.control("POST", "reset")
    for variable in CREDENTIALS:
        monkeypatch.setenv(variable, f"{variable.lower()}-e2e-credential")
    return server


def gated_project(directory: Path, url: str) -> Path:
    """The four-platform project of tests/conftest.py, its campaign gated, its targets at the served sandbox."""

    def point(match: re.Match[str]) -> str:
        platform = match.group(1)
        extra = f"auth_url: {url}{snapchat.MOUNT}{snapchat.TOKEN_PATH}\n" if platform == "snapchat" else ""
        return f"{match.group(0)}api_base_url: {url}{PREFIXES[platform]}\n{extra}"

    specs = re.sub(r"^platform: (\w+)\n", point, SPECS, flags=re.M)
    specs = specs.replace("objective: traffic\n", "objective: traffic\nactivation: after_review\n")
    (directory / "specs" / "assets").mkdir(parents=True)
    (directory / "state").mkdir()
    (directory / "specs" / "main.yaml").write_text(specs)
    (directory / "specs" / "assets" / "banner.png").write_bytes(png_bytes())
    return directory


def run(project: Path, *args: str, code: int = 0) -> str:
    result = run_reconciler(project, *args)
    assert result.returncode == code, result.stdout + result.stderr
    return result.stdout + result.stderr


def review(sandbox: Sandbox, status: str, reason: str = "") -> None:
    sandbox.control("POST", "review", json={"name_contains": "summer", "status": status, "reason": reason})


def statuses(sandbox: Sandbox) -> dict[str, dict[str, str]]:
    """platform -> type -> the status go-live sets, of the gated objects on the platform."""
    out: dict[str, dict[str, str]] = {}
    for platform, (field, _, _) in LIVE.items():
        for obj in sandbox.objects(platform):
            if obj["type"] in GATED[platform]:
                out.setdefault(platform, {})[obj["type"]] = obj["fields"][field]
    return out


def all_(which: int) -> dict[str, dict[str, str]]:
    return {p: dict.fromkeys(GATED[p], LIVE[p][which]) for p in LIVE}


def test_pending_then_approved_goes_live_on_the_next_apply(tmp_path: Path, served: Sandbox) -> None:
    project = gated_project(tmp_path, served.url)
    review(served, "pending")
    plan = json.loads(run_reconciler(project, "plan", "--format", "json").stdout)
    held = {c["address"] for c in plan["changes"] if c.get("reason") == "waiting for review"}
    assert held == {f"{t}:{type_}/summer" + (".banner" if type_ == "ad" else "") for p, t in SOCIAL.items()
                    for type_ in GATED[p]}  # fmt: skip
    platforms = {target: platform for platform, target in SOCIAL.items()}
    for change in (c for c in plan["changes"] if c["address"] in held):
        field, _, paused = LIVE[platforms[change["target"]]]
        assert change["after"][field] == paused, change["address"]  # created paused: honest desired state
    assert sum("waiting for review" in w for w in plan["warnings"]) == 3
    assert any("ignored on broadstreet" in w for w in plan["warnings"])
    text = run(project, "plan")
    assert "+ meta-us:ad/summer.banner (waiting for review)" in text

    out = run(project, "apply", "--auto-approve")
    assert "summer on meta-us: waiting for review (0 of 1 ads approved); kept paused" in out
    assert statuses(served) == all_(2)
    assert "No changes" in run(project, "plan", "--detailed-exitcode")  # the paused state is what is desired
    status = run(project, "status", "--detailed-exitcode", code=2)
    assert re.search(r"summer\s+meta-us\s+warning\s+0\s+1\s+0", status)
    assert "kept paused until every ad is approved" in status
    assert re.search(r"summer\s+bs-main\s+healthy", status)

    review(served, "approved")
    out = run(project, "apply", "--auto-approve")  # no change planned: go-live alone
    for target in SOCIAL.values():
        assert f"summer on {target}: every ad approved; went live (enabled 3 objects)" in out
    assert statuses(served) == all_(1)
    run(project, "plan", "--detailed-exitcode")  # 0: the state records them live, as desired now
    run(project, "status", "--detailed-exitcode")  # 0: all healthy
    assert "went live" not in run(project, "apply", "--auto-approve")  # live stays live


def test_a_rejected_ad_keeps_its_campaign_paused(tmp_path: Path, served: Sandbox) -> None:
    project = gated_project(tmp_path, served.url)
    review(served, "rejected", "misleading claim")
    out = run(project, "apply", "--auto-approve")
    assert "summer on tiktok-us: stays paused: tiktok-us:ad/summer.banner rejected: misleading claim" in out
    assert statuses(served) == all_(2)
    out = run(project, "apply", "--auto-approve", "--wait-for-review", "30s")
    assert "Waiting for review" not in out  # a rejection settles it: no waiting
    assert statuses(served) == all_(2)
    status = run(project, "status", "--detailed-exitcode", code=2)
    assert re.search(r"summer\s+snap-us\s+critical\s+0\s+0\s+1", status)


def test_wait_for_review_goes_live_within_the_run(tmp_path: Path, served: Sandbox) -> None:
    project = gated_project(tmp_path, served.url)
    review(served, "pending")
    started = time.monotonic()
    process = start_reconciler(project, "apply", "--auto-approve", "--wait-for-review", "1m")
    while not any(o["type"] == "ad" for o in served.objects("snapchat")) and time.monotonic() - started < 60:
        time.sleep(0.2)
    time.sleep(1.5)  # the first poll found them pending
    review(served, "approved")
    stdout, stderr = process.communicate(timeout=90)
    assert process.returncode == 0, stdout + stderr
    assert "Waiting for review: summer on meta-us (0 of 1 ads approved)" in stdout
    for target in SOCIAL.values():
        assert f"summer on {target}: every ad approved; went live" in stdout
    assert time.monotonic() - started < 50
    assert statuses(served) == all_(1)
    run(project, "status", "--detailed-exitcode")


def test_wait_for_review_gives_up_after_the_duration(tmp_path: Path, served: Sandbox) -> None:
    project = gated_project(tmp_path, served.url)
    review(served, "pending")
    started = time.monotonic()
    out = run(project, "apply", "--auto-approve", "--wait-for-review", "3s")
    assert "Waiting for review" in out
    assert "summer on meta-us: waiting for review (0 of 1 ads approved); kept paused; gave up after 3s" in out
    assert time.monotonic() - started < 30
    assert statuses(served) == all_(2)


@pytest.mark.parametrize("value", ["5x", "", "-1s", "0s", "1 m", "m"])
def test_bad_durations_are_usage_errors(tmp_path: Path, served: Sandbox, value: str) -> None:
    project = gated_project(tmp_path, served.url)
    out = run(project, "apply", "--auto-approve", "--wait-for-review", value, code=1)
    assert "--wait-for-review" in out and "not a duration" in out or "more than 0s" in out


def test_durations_read_and_written_as_terraform_does() -> None:
    assert [parse_duration(v) for v in ("40s", "5m", "1h", "1h30m", "500ms", "1.5s")] == [40, 300, 3600, 5400, 0.5, 1.5]
    assert [format_duration(s) for s in (0, 3, 90, 3600, 3725)] == ["0s", "3s", "1m30s", "1h", "1h2m5s"]


# ------------------------------------------------------------------ in-process: the pieces


def gate(project: Path) -> None:
    specs = project / "specs" / "main.yaml"
    specs.write_text(
        specs.read_text().replace("objective: traffic\n", "objective: traffic\nactivation: after_review\n")
    )


def apply_in_process(project: Path, sandbox: InProcessSandbox, **kwargs: Any) -> list[str]:
    notes: list[str] = []
    Project(project).apply(
        connect=sandbox.connect, events=EventSink(), confirm=lambda plan: plan.has_changes, notify=notes.append,
        **kwargs,
    )  # fmt: skip
    return notes


def test_compile_notes_one_gate_per_social_target_and_ignores_broadstreet(project: Path) -> None:
    gate(project)
    compiled = Project(project).compile()
    assert {(g.campaign, g.target) for g in compiled.gates} == {("summer", t) for t in SOCIAL.values()}
    meta = next(g for g in compiled.gates if g.target == "meta-us")
    assert [m.address for m in meta.enable_order()] == [
        "meta-us:ad/summer.banner", "meta-us:adset/summer", "meta-us:campaign/summer"
    ]  # fmt: skip
    assert any("summer on bs-main: activation: after_review is ignored on broadstreet" in w for w in compiled.warnings)


def test_a_campaign_live_before_it_was_gated_stays_live(project: Path) -> None:
    sandbox = InProcessSandbox()
    sandbox.apply(project)  # immediate: live at once
    gate(project)
    plan = Project(project).plan()
    assert not plan.has_changes  # gating is about going live; a live campaign is not paused by it
    assert not any("waiting for review" in w for w in plan.warnings)


def test_a_new_ad_in_a_live_gated_campaign_waits_alone(project: Path) -> None:
    gate(project)
    sandbox = InProcessSandbox()
    apply_in_process(project, sandbox)  # approved by default: live in the same run
    specs = project / "specs" / "main.yaml"
    (project / "specs" / "assets" / "second.png").write_bytes(png_bytes(7))
    specs.write_text(
        specs.read_text().replace("creatives: [banner, teaser]", "creatives: [banner, teaser, second]")
        + "---\nkind: Creative\nname: second\nadvertiser: acme\nformat: image/png\nsize: 728x90\n"
        "asset: assets/second.png\nclick_url: https://acme.example/summer\nheadline: Second\n"
    )
    sandbox.control("POST", "review", json={"name_contains": "summer.second", "status": "pending"})
    plan = Project(project).plan()
    held = {c.address for c in plan.changes if c.reason == "waiting for review"}
    assert held == {f"{t}:ad/summer.second" for t in SOCIAL.values()}  # campaign and ad set stay live
    notes = apply_in_process(project, sandbox)
    assert any("summer on meta-us: waiting for review (1 of 2 ads approved)" in n for n in notes)
    sandbox.control("POST", "review", json={"name_contains": "summer.second", "status": "approved"})
    notes = apply_in_process(project, sandbox)
    assert "summer on meta-us: every ad approved; went live (enabled 1 object)" in notes
    assert not Project(project).plan().has_changes


def test_target_limits_go_live_to_the_campaigns_it_plans(project: Path) -> None:
    gate(project)
    sandbox = InProcessSandbox()
    sandbox.control("POST", "review", json={"name_contains": "summer", "status": "pending"})
    apply_in_process(project, sandbox)
    sandbox.control("POST", "review", json={"name_contains": "summer", "status": "approved"})
    notes = apply_in_process(project, sandbox, target_patterns=["bs-main:*"])
    assert not any("went live" in n for n in notes)
    notes = apply_in_process(project, sandbox, target_patterns=["meta-us:*"])
    assert [n for n in notes if "went live" in n] == [
        "summer on meta-us: every ad approved; went live (enabled 3 objects)"
    ]


def test_a_replaced_member_of_a_gated_campaign_is_made_paused() -> None:
    # A replace makes a new object, with a review of its own, though the old one is recorded live.
    ad = Resource("meta-us:ad/summer.banner", "meta-us", "meta", "ad", "summer.banner", {"status": "ACTIVE"})
    gates = [Gate("summer", "meta-us", "meta", (Member(ad.address, "ad"),))]
    change = Change(ad.address, "meta-us", "ad", Action.REPLACE, {"status": "ACTIVE", "x": 1}, ad.attributes,
                    changed_fields=("x",), reason="cannot change in place: x", desired=ad)  # fmt: skip
    (held,) = hold_replacements([change], gates)
    assert held.after == {"status": "PAUSED"} and held.desired is not None
    assert held.desired.attributes == {"status": "PAUSED"}
    assert held.changed_fields == ("x", "status")
    assert held.reason == "cannot change in place: x; waiting for review"
    update = dataclasses.replace(change, action=Action.UPDATE)
    assert hold_replacements([update], gates) == [update]  # changed in place: the platform re-reviews it live


def test_a_saved_plan_creates_paused_and_its_apply_goes_live_once_approved(tmp_path: Path, served: Sandbox) -> None:
    project = gated_project(tmp_path, served.url)
    run(project, "plan", "--out", "plan.json")
    review(served, "approved")  # e.g. the sandbox's default: reviewed by the time the plan is applied
    out = run(project, "apply", "plan.json")  # a saved plan is applied without asking again
    assert "summer on snap-us: every ad approved; went live (enabled 3 objects)" in out
    assert statuses(served) == all_(1)
    run(project, "plan", "--detailed-exitcode")
