"""`reconciler state import ADDRESS ID`: adopt one existing object for a declared address (Terraform's import)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.provider_kit import Cli

CAMPAIGN = "bs-main:campaign/summer"
STATE = ("state", "default.sandbox.json")


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], project: Path) -> Cli:
    run = Cli(capsys, project)
    run.apply()
    return run


def recorded(project: Path) -> dict[str, dict]:
    return json.loads(project.joinpath(*STATE).read_text())["resources"]


def state_bytes(project: Path) -> tuple[bytes, bytes]:
    journal = project / "state" / "default.sandbox.journal"
    return project.joinpath(*STATE).read_bytes(), journal.read_bytes() if journal.exists() else b""


def forget(cli: Cli, address: str) -> str:
    """The platform id of `address`, removed from the state (the object stays live)."""
    id_ = recorded(cli.project)[address]["id"]
    code, out = cli("state", "--sandbox", "rm", address)
    assert code == 0, out
    return id_


def test_adopting_a_forgotten_object_plans_no_change_and_no_duplicate(cli: Cli, project: Path) -> None:
    before = recorded(project)[CAMPAIGN]
    id_ = forget(cli, CAMPAIGN)
    code, out = cli("plan", "--sandbox", "--detailed-exitcode")
    assert code == 2 and "to create" in out  # forgotten: the plan would make a second one

    code, out = cli("state", "import", "--sandbox", CAMPAIGN, id_)
    assert code == 0, out
    assert f"Imported {CAMPAIGN} (id {id_})" in out
    assert recorded(project)[CAMPAIGN]["id"] == id_
    assert recorded(project)[CAMPAIGN]["attributes"] == before["attributes"]
    cli.assert_no_changes()
    cli.assert_no_drift()


def test_the_next_plan_shows_only_the_fields_where_the_object_differs(cli: Cli, project: Path) -> None:
    id_ = forget(cli, CAMPAIGN)
    spec = project / "specs" / "main.yaml"
    spec.write_text(spec.read_text().replace("end_date: 2026-08-31", "end_date: 2026-09-30", 1))
    code, out = cli("state", "import", "--sandbox", CAMPAIGN, id_)
    assert code == 0, out
    assert recorded(project)[CAMPAIGN]["attributes"]["end_date"] == "2026-08-31"  # what runs, not the spec

    code, out = cli("plan", "--sandbox", "--detailed-exitcode")
    assert code == 2
    # The edit is an update everywhere (every platform's campaign carries the date); no create, no replace.
    assert "0 to create" in out and "0 to replace" in out and "0 to delete" in out, out
    adopted = out[out.index(f"~ {CAMPAIGN}") :].split("\n\n")[0]
    assert "end_date" in adopted and adopted.count(" = ") == 1, adopted


@pytest.mark.parametrize(
    ("address", "id_", "message"),
    [
        ("bs-main:campaign/nope", "1", "is not declared by the specs"),
        (CAMPAIGN, "999999", "has no campaign with id 999999"),
    ],
)
def test_refusals_leave_the_state_untouched(cli: Cli, project: Path, address: str, id_: str, message: str) -> None:
    forget(cli, CAMPAIGN)
    before = state_bytes(project)
    code, out = cli("state", "import", "--sandbox", address, id_)
    assert code == 1
    assert message in out and "Traceback" not in out
    assert state_bytes(project) == before


def test_an_address_or_an_id_already_recorded_is_refused(cli: Cli, project: Path) -> None:
    summer_id = recorded(project)[CAMPAIGN]["id"]
    spec = project / "specs" / "main.yaml"
    winter = "kind: Campaign\nname: winter\nadvertiser: acme\nstart_date: 2026-12-01\ntargets: [bs-main]\n"
    spec.write_text(spec.read_text() + "---\n" + winter)
    before = state_bytes(project)

    code, out = cli("state", "import", "--sandbox", CAMPAIGN, summer_id)
    assert code == 1 and "is already recorded" in out and f"state rm {CAMPAIGN}" in out
    # One object, two addresses: the next apply would change it for both.
    code, out = cli("state", "import", "--sandbox", "bs-main:campaign/winter", summer_id)
    assert code == 1 and f"already recorded as {CAMPAIGN}" in out and "state mv" in out
    assert state_bytes(project) == before


def test_without_sandbox_the_live_api_is_asked_and_the_sandbox_state_is_not_used(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    id_ = forget(cli, CAMPAIGN)
    monkeypatch.delenv("BROADSTREET_API_TOKEN", raising=False)
    code, out = cli("state", "import", CAMPAIGN, id_)  # live: its own state, and no token here
    assert code == 1 and "BROADSTREET_API_TOKEN is not set" in out and "Traceback" not in out
    assert CAMPAIGN not in recorded(project)
    assert (
        not (project / "state" / "default.json").exists()
        or CAMPAIGN not in (project / "state" / "default.json").read_text()
    )
