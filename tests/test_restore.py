"""`reconciler plan --restore RUN` (issue 12 item 3): back to how a run left the objects, then apply."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from reconciler.history.records import OperationRecord, Run, RunStart
from reconciler.history.restore import _state_at_end
from reconciler.model import RecordedResource
from tests import provider_kit as kit
from tests.conftest import SPECS, png_bytes
from tests.e2e import Sandbox, broadstreet_project, run_reconciler


def ok(project: Path, *args: str) -> str:
    result = run_reconciler(project, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def live(sandbox: Sandbox) -> list[tuple[str, str]]:
    """The sandbox's objects by type and fields (ids left out: a re-created object has a new one)."""
    return sorted((o["type"], json.dumps(o["fields"], sort_keys=True)) for o in sandbox.objects())


def newest_run(project: Path) -> dict[str, Any]:
    return json.loads(ok(project, "history", "--format", "json", "--limit", "1"))[0]


def test_restore_a_run_after_an_update_a_delete_and_a_create(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=2)
    ok(project, "apply", "--auto-approve")
    run_a = newest_run(project)["run_id"]
    objects_a = live(sandbox)

    specs = project / "specs" / "main.yaml"
    text = specs.read_text().replace("end_date: 2026-08-31\ntargets: [bs-main]\ncreatives: [c0-a",
                                     "end_date: 2026-09-30\ntargets: [bs-main]\ncreatives: [c0-a")  # fmt: skip
    text = text.replace("kind: Placement\ncampaign: camp1\ncreative: c1-b\nzone: side\n", "")  # delete
    text = text.rstrip("-\n") + "\n---\nkind: Zone\nname: footer\ntarget: bs-main\ndisplay_name: Footer\nalias: ft\n"
    text += "---\nkind: Placement\ncampaign: camp0\ncreative: c0-a\nzone: footer\n"  # creates
    specs.write_text(text)
    assert "Plan: 2 to create, 1 to update, 0 to replace, 1 to delete." in ok(project, "plan")
    ok(project, "apply", "--auto-approve")
    assert live(sandbox) != objects_a

    plan_file = tmp_path / "p.json"
    shown = ok(project, "plan", "--restore", run_a, "--out", str(plan_file))
    assert "Plan: 1 to create, 1 to update, 0 to replace, 2 to delete." in shown, shown
    assert f"restores the recorded objects to how run {run_a} left them" in shown
    assert "The specs were not changed: the next `reconciler plan` from the specs will show the difference" in shown
    saved = json.loads(plan_file.read_text())
    assert saved["warnings"][0].startswith("This plan restores") and saved["digest"]
    ok(project, "apply", "--auto-approve", str(plan_file))
    assert live(sandbox) == objects_a  # every object as run A left it (the deleted placement made again)

    restored = newest_run(project)
    assert restored["outcome"] == "succeeded" and restored["plan_file"] == "p.json"
    assert restored["counts"]["done"] == 4
    # The specs still say what run B did: the next plan shows it again.
    assert "Plan: 2 to create, 1 to update, 0 to replace, 1 to delete." in ok(project, "plan")
    # Nothing left to restore.
    assert "No changes." in ok(project, "plan", "--restore", run_a)


def test_an_unknown_run_and_other_options_are_refused(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    result = run_reconciler(project, "plan", "--restore", "20260101T000000Z-abcdef")
    assert result.returncode == 1 and "no run '20260101T000000Z-abcdef'" in result.stderr
    assert "Traceback" not in result.stderr
    result = run_reconciler(project, "plan", "--restore", "20260101T000000Z-abcdef", "--refresh")
    assert result.returncode == 1 and "--restore plans from the run history" in result.stderr


def test_what_cannot_be_restored_is_listed(
    tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    """Uploads whose file is gone from the specs stay as they are, named with the reason; the rest is restored."""
    for variable in ("BROADSTREET_API_TOKEN", "META_ACCESS_TOKEN", "TIKTOK_ACCESS_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    kit.write_specs(tmp_path, SPECS, {"banner.png": png_bytes(1)})
    reconciler = kit.Cli(capsys, tmp_path)
    reconciler.apply()
    code, out = reconciler("history", "--sandbox", "--format", "json")
    run_a = json.loads(out)[0]["run_id"]
    (tmp_path / "specs" / "assets" / "banner.png").write_bytes(png_bytes(2))  # a new file: new uploads
    specs = tmp_path / "specs" / "main.yaml"
    specs.write_text(specs.read_text().replace("end_date: 2026-08-31", "end_date: 2026-09-30"))
    reconciler.apply()
    code, out = reconciler("plan", "--sandbox", "--restore", run_a, "--format", "json")
    assert code == 0, out
    plan = json.loads(out)
    cannot = [w for w in plan["warnings"] if w.startswith("cannot restore")]
    gone = "cannot restore meta-us:adimage/banner: no file in the project has its content"
    assert any(w.startswith(gone) for w in cannot), cannot
    assert all("cannot be uploaded again" in w or "depends on it" in w for w in cannot)
    campaigns = [c for c in plan["changes"] if c["address"] == "bs-main:campaign/summer"]
    assert campaigns[0]["action"] == "update" and campaigns[0]["after"]["end_date"] == "2026-08-31"
    uploads = [c for c in plan["changes"] if c["address"] == "meta-us:adimage/banner"]
    assert uploads[0]["action"] == "noop"


def test_a_removed_campaign_comes_back_where_the_platform_deleted_it(
    tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    """Broadstreet deleted the campaign's objects: made again (the image found in the project). Meta, TikTok
    and Snapchat paused them and they still exist: listed, never made twice."""
    for variable in ("BROADSTREET_API_TOKEN", "META_ACCESS_TOKEN", "TIKTOK_ACCESS_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    kit.write_specs(tmp_path, SPECS, {"banner.png": png_bytes(1)})
    reconciler = kit.Cli(capsys, tmp_path)
    reconciler.apply()
    run_a = json.loads(reconciler("history", "--sandbox", "--format", "json")[1])[0]["run_id"]
    specs = tmp_path / "specs" / "main.yaml"
    documents = specs.read_text().split("---\n")
    specs.write_text("---\n".join(d for d in documents if not d.startswith(("kind: Campaign", "kind: Placement"))))
    reconciler.apply()
    code, out = reconciler("plan", "--sandbox", "--restore", run_a, "--out", str(tmp_path / "p.json"))
    assert code == 0, out
    for address in ("meta-us:campaign/summer", "tiktok-us:adgroup/summer", "snap-us:ad/summer.banner"):
        assert f"cannot restore {address}: it was paused and dropped from the state" in out
    assert "Plan: 10 to create, 0 to update, 0 to replace, 0 to delete." in out
    code, out = reconciler("apply", "--sandbox", "--auto-approve", str(tmp_path / "p.json"))
    assert code == 0, out
    assert [o.type for o in kit.saved_objects(tmp_path, "broadstreet")].count("campaign") == 1  # made again
    [meta] = [o for o in kit.saved_objects(tmp_path, "meta") if o.type == "campaign"]  # never twice
    assert meta.fields["status"] == "PAUSED"
    code, out = reconciler("plan", "--sandbox", "--restore", run_a)
    assert "No changes." in out


def _record(address: str, value: str) -> RecordedResource:
    return RecordedResource(address, "1", "campaign", "t", {"name": value})


def test_later_runs_are_undone_newest_first() -> None:
    start = RunStart("20260101T000001Z-000000", "default", "x", "me", "here", None, "d")
    ops = [
        OperationRecord("t:campaign/a", "update", "done", "x", before=_record("t:campaign/a", "1"),
                        after=_record("t:campaign/a", "2")),
        OperationRecord("t:campaign/a", "update", "done", "x", before=_record("t:campaign/a", "2"),
                        after=_record("t:campaign/a", "3")),
        OperationRecord("t:campaign/b", "create", "done", "x", after=_record("t:campaign/b", "1")),
        OperationRecord("t:campaign/c", "pause", "done", "x", before=_record("t:campaign/c", "1")),
    ]  # fmt: skip
    current = {"t:campaign/a": _record("t:campaign/a", "3"), "t:campaign/b": _record("t:campaign/b", "1")}
    at_end, paused = _state_at_end(current, [Run(start, ops, None)])
    assert at_end == {"t:campaign/a": _record("t:campaign/a", "1"), "t:campaign/c": _record("t:campaign/c", "1")}
    assert list(paused) == ["t:campaign/c"]
