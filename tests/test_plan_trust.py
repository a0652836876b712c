"""Issue 8.5 and 8.1: applying a plan never acts on another object or file than the plan showed.

A saved plan is checked against the state by lineage and serial; these tests
forge plans that pass or dodge that check and assert that no request is sent
and that every recorded id stays recorded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reconciler.state import LocalFileStore
from tests.e2e import Sandbox, broadstreet_project, counts, expected_counts, run_reconciler


def apply(project: Path, *args: str) -> tuple[int, str]:
    result = run_reconciler(project, "apply", "--auto-approve", *args)
    assert "Traceback" not in result.stderr + result.stdout
    return result.returncode, result.stdout + result.stderr


def forge(plan_file: Path, **state: object) -> None:
    data = json.loads(plan_file.read_text())
    data["state"].update(state)
    plan_file.write_text(json.dumps(data))


def test_a_first_plan_whose_header_was_edited_to_the_current_serial_is_stale(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    first = project / "first.json"
    assert run_reconciler(project, "plan", "--out", str(first)).returncode == 0
    assert apply(project)[0] == 0
    recorded = LocalFileStore(project).read()
    forge(first, serial=recorded.serial)  # lineage stays null, as in a first plan
    writes = sandbox.writes()
    code, output = apply(project, str(first))
    assert code == 1 and "is stale" in output and "made before this workspace had a state" in output
    assert sandbox.writes() == writes
    assert LocalFileStore(project).read().resources == recorded.resources


def test_creates_over_recorded_objects_send_nothing_and_keep_every_id(tmp_path: Path, sandbox: Sandbox) -> None:
    """Even with the header forged to match exactly, a create never overwrites a recorded id."""
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    first = project / "first.json"
    run_reconciler(project, "plan", "--out", str(first))
    assert apply(project)[0] == 0
    recorded = LocalFileStore(project).read()
    forge(first, serial=recorded.serial, lineage=recorded.lineage)
    writes = sandbox.writes()
    code, output = apply(project, str(first))
    assert code == 1
    assert "already recorded with id" in output and "nothing was sent" in output
    assert sandbox.writes() == writes
    assert counts(sandbox.objects()) == expected_counts(1)
    after = LocalFileStore(project).read()
    assert {a: r.id for a, r in after.resources.items()} == {a: r.id for a, r in recorded.resources.items()}
    assert not after.pending


def test_updates_and_deletes_act_only_on_the_id_the_plan_showed(tmp_path: Path, sandbox: Sandbox) -> None:
    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    assert apply(project)[0] == 0
    main = project / "specs" / "main.yaml"
    text = main.read_text()
    # camp0 gets an update, and the placements of c0-b (no longer in the campaign) are deleted.
    main.write_text(text.replace("end_date: 2026-08-31", "end_date: 2026-09-30"))
    plan_file = project / "plan.json"
    assert run_reconciler(project, "plan", "--out", str(plan_file)).returncode == 0
    data = json.loads(plan_file.read_text())
    for change in data["changes"]:
        if change["action"] == "update":
            change["id"] = "999999"  # another object of the account
    plan_file.write_text(json.dumps(data))
    writes = sandbox.writes()
    code, output = apply(project, str(plan_file))
    assert code == 1 and "but the plan was made for id 999999" in output
    assert sandbox.writes() == writes


def test_a_saved_refresh_plan_recreates_what_was_deleted_out_of_band(tmp_path: Path, sandbox: Sandbox) -> None:
    import httpx

    project = broadstreet_project(tmp_path, sandbox.url, campaigns=1)
    assert apply(project)[0] == 0
    zone_id = LocalFileStore(project).read().id_of("bs-main:zone/side")
    httpx.delete(f"{sandbox.url}/broadstreet/api/1/zones/{zone_id}", params={"access_token": "x"})
    plan_file = project / "plan.json"
    assert run_reconciler(project, "plan", "--refresh", "--out", str(plan_file)).returncode == 0
    code, output = apply(project, str(plan_file))
    assert code == 0, output
    assert LocalFileStore(project).read().id_of("bs-main:zone/side") != zone_id
    assert run_reconciler(project, "plan", "--refresh", "--detailed-exitcode").returncode == 0
    assert counts(sandbox.objects()) == expected_counts(1)


def _point_assets(plan_file: Path, path: Path) -> int:
    """Point every asset of the plan at `path`, with its real hash, as an attacker would; how many."""
    import hashlib

    data = json.loads(plan_file.read_text())
    digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "0" * 64
    assets = [c["asset"] for c in data["changes"] if c.get("asset")]
    for asset in assets:
        asset.update(path=str(path), sha256=digest)
    plan_file.write_text(json.dumps(data))
    return len(assets)


def test_a_plan_that_uploads_a_file_from_outside_the_project_is_refused(
    project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "secrets.env"
    outside.write_text("TOKEN=do-not-publish\n")
    link = project / "specs" / "assets" / "innocent.png"
    link.symlink_to(outside)  # inside by name, outside once resolved
    for path in (outside, link):
        plan_file = project / "plan.json"
        assert run_reconciler(project, "plan", "--out", str(plan_file)).returncode == 0
        assert _point_assets(plan_file, path) > 0
        result = run_reconciler(project, "apply", "--sandbox", str(plan_file), "--auto-approve")
        assert result.returncode == 1, result.stdout
        assert "which resolves outside the project directory" in result.stderr and "Nothing was sent" in result.stderr
        assert "do-not-publish" not in result.stdout + result.stderr
        assert not (project / "state" / "default.emulator.json").exists()  # no request reached the sandbox


def test_an_asset_that_is_not_a_regular_file_fails_its_upload_without_hanging(project: Path) -> None:
    import os

    fifo = project / "specs" / "assets" / "pipe.png"
    os.mkfifo(fifo)  # a read would block forever without a writer
    plan_file = project / "plan.json"
    assert run_reconciler(project, "plan", "--out", str(plan_file)).returncode == 0
    _point_assets(plan_file, fifo)
    result = run_reconciler(project, "apply", "--sandbox", str(plan_file), "--auto-approve", timeout=60)
    assert result.returncode == 1
    assert "is a FIFO (named pipe), not a regular file" in result.stderr and "Traceback" not in result.stderr


def test_an_upload_refuses_a_file_that_became_special_after_the_plan(tmp_path: Path) -> None:
    """The last gate, at send time: a FIFO is refused at once, never read (which would block)."""
    import asyncio
    import os

    from reconciler.model import Action, Asset, Operation
    from reconciler.providers.assets import read_asset
    from reconciler.providers.base import ProviderError

    fifo = tmp_path / "banner.png"
    os.mkfifo(fifo)
    asset = Asset(str(fifo), "0" * 64, "image/png")
    op = Operation("m:adimage/banner", Action.CREATE, "adimage", "banner", {}, asset=asset)
    with pytest.raises(ProviderError, match="not a regular file"):
        asyncio.run(asyncio.wait_for(read_asset(op), timeout=10))
