"""The demo's sandbox account, imported into an empty project: the next plan has nothing to do."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.provider_kit import Cli

ROOT = Path(__file__).resolve().parent.parent


def recorded_ids(project: Path) -> set[tuple[str, str, str]]:
    state = json.loads((project / "state" / "default.sandbox.json").read_text())
    return {(r["target"], r["type"], r["id"]) for r in state["resources"].values()}


@pytest.fixture
def applied_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    demo = tmp_path / "demo"
    shutil.copytree(ROOT / "specs", demo / "specs")
    (demo / "state").mkdir()
    Cli(capsys, demo).apply()
    return demo


def test_the_demo_account_imports_into_an_empty_project(
    applied_demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    (empty / "specs").mkdir(parents=True)
    (empty / "state").mkdir()
    shutil.copy(ROOT / "specs" / "targets.yaml", empty / "specs" / "targets.yaml")
    # The emulator's objects, as the demo left them: the account a team would point reconciler at.
    for data in (applied_demo / "state").glob("default.emulator.json*"):  # the snapshot and its journal
        shutil.copy(data, empty / "state" / data.name)
    cli = Cli(capsys, empty)

    code, out = cli("import", "--sandbox")
    assert code == 0, out
    assert "Warning" not in out, out
    # Broadstreet gives an html ad's markup back only as an embed script: that ad and its two
    # placements are listed, not written. Everything else the demo made is adopted.
    skipped = [line for line in out.splitlines() if line.startswith("Skipped: ")]
    assert len(skipped) == 3 and all(line.startswith("Skipped: bs-main: ") for line in skipped), skipped
    html_ad = {(t, ty, i) for t, ty, i in recorded_ids(applied_demo) if ty == "advertisement" and f"(id {i})" in out}
    assert len(html_ad) == 1
    ((_, _, ad_id),) = html_ad
    placements = {r for r in recorded_ids(applied_demo) if r[1] == "placement" and f"/{ad_id}/" in r[2]}
    assert len(placements) == 2
    assert recorded_ids(empty) == recorded_ids(applied_demo) - html_ad - placements
    for target in ("bs-main", "meta-us", "tiktok-us", "snap-us"):
        assert (empty / "specs" / "imported" / f"{target}.yaml").is_file()
    cli.assert_no_changes()
    cli.assert_no_drift()

    specs_before = {p: p.read_bytes() for p in (empty / "specs").rglob("*.yaml")}
    code, out = cli("import", "--sandbox")
    assert code == 0 and "Nothing to import" in out, out
    assert f"{len(recorded_ids(empty))} already in the state, 3 skipped" in out, out
    assert {p: p.read_bytes() for p in (empty / "specs").rglob("*.yaml")} == specs_before


def test_filters_import_what_they_match_and_what_it_needs(
    applied_demo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    (empty / "specs").mkdir(parents=True)
    (empty / "state").mkdir()
    shutil.copy(ROOT / "specs" / "targets.yaml", empty / "specs" / "targets.yaml")
    for data in (applied_demo / "state").glob("default.emulator.json*"):
        shutil.copy(data, empty / "state" / data.name)
    cli = Cli(capsys, empty)

    code, out = cli("import", "--sandbox", "bs-main", "--type", "campaign", "--name-contains", "HOLIDAY")
    assert code == 0, out
    state = json.loads((empty / "state" / "default.sandbox.json").read_text())["resources"]
    # The holiday campaign with its advertiser, its creative, its placements and their zones; nothing else.
    types = sorted({r["type"] for r in state.values()})
    assert types == ["advertisement", "advertiser", "campaign", "placement", "zone"], types
    campaigns = [a for a, r in state.items() if r["type"] == "campaign"]
    assert campaigns == ["bs-main:campaign/acme-holiday"], campaigns
    assert not (empty / "specs" / "imported" / "meta-us.yaml").exists()
    cli.assert_no_changes()

    code, out = cli("import", "--sandbox", "--type", "campain")
    assert code == 1 and "--type campain: no such type" in out
