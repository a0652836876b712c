"""Template variables through the real command: --var values typed as YAML, --var-file merged in order."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from tests.provider_kit import Cli

TARGET = "kind: Target\nname: bs-main\nplatform: broadstreet\nnetwork_id: 85\ncredentials: {token_env: BS_TOKEN}\n"
ZONES = """\
{% for i in range(count) %}
---
kind: Zone
name: slot-{{ i + offset }}
target: bs-main
display_name: "Slot [{{ code }}]{% if premium %} premium{% endif %}"
{% endfor %}
"""


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Cli:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "main.yaml").write_text(TARGET)
    (tmp_path / "specs" / "zones.yaml.j2").write_text(ZONES)
    monkeypatch.setenv("BS_TOKEN", "sandbox-token")
    return Cli(capsys, tmp_path)


def zones(cli: Cli, *args: str) -> dict[str, str]:
    """Planned zone address -> name, from `plan --format json`."""
    code, out = cli("plan", "--format", "json", *args)
    assert code == 0, out
    return {c["address"]: c["after"]["name"] for c in json.loads(out)["changes"]}


def test_var_values_are_typed_as_yaml(cli: Cli) -> None:
    typed = ["--var", "count=2", "--var", "offset=10", "--var", "premium=true", "--var", "code='007'"]
    assert zones(cli, *typed) == {
        "bs-main:zone/slot-10": "Slot [007] premium",
        "bs-main:zone/slot-11": "Slot [007] premium",
    }
    # As in specs (YAML 1.1): NO is false, 007 an integer, an empty VALUE the empty string.
    plain = ["--var", "count=1", "--var", "offset=0", "--var", "premium=NO"]
    assert zones(cli, *plain, "--var", "code=007") == {"bs-main:zone/slot-0": "Slot [7]"}
    assert zones(cli, *plain, "--var", "code=") == {"bs-main:zone/slot-0": "Slot []"}


def test_var_files_merge_in_order_over_vars_yaml_and_var_over_all(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "specs" / "vars.yaml").write_text("count: 1\noffset: 0\ncode: vars\npremium: false\n")
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    first.write_text("offset: 5\ncode: first\npremium: true\n")
    second.write_text("code: second\n")
    assert zones(cli) == {"bs-main:zone/slot-0": "Slot [vars]"}
    files = ["--var-file", str(first), "--var-file", str(second)]
    assert zones(cli, *files) == {"bs-main:zone/slot-5": "Slot [second] premium"}
    assert zones(cli, "--var", "premium=off", *files) == {"bs-main:zone/slot-5": "Slot [second]"}


def test_every_command_with_var_takes_var_file(cli: Cli, tmp_path: Path) -> None:
    values = tmp_path / "values.yaml"
    values.write_text("count: 1\noffset: 3\ncode: x\npremium: false\n")
    given = ["--var-file", str(values)]
    for command in (["validate"], ["graph"], ["plan", "--out", str(tmp_path / "plan.json")]):
        code, out = cli(*command, *given)
        assert code == 0, out
    # A saved plan is applied as it is; the variables only compile the specs for the target check.
    code, out = cli("apply", str(tmp_path / "plan.json"), "--sandbox", "--auto-approve")
    assert code == 1 and "specs/zones.yaml.j2:1: template failed" in out
    code, out = cli("apply", str(tmp_path / "plan.json"), "--sandbox", "--auto-approve", *given)
    assert code == 0 and "created bs-main:zone/slot-3" in out, out
    code, out = cli("status", "--sandbox", *given)
    assert code == 0, out


BAD_VALUES = ["a: b", "[1, 2]", "{a: 1}", "- x", "'open", "*anchor", "&anchor 1", "!!str 1", "#ff0000", "red #x"]


@pytest.mark.parametrize("value", BAD_VALUES)
def test_a_value_that_is_not_one_scalar_is_a_usage_error_with_a_working_hint(cli: Cli, value: str) -> None:
    code, out = cli("validate", "--var", f"code={value}")
    lines = out.splitlines()
    assert code == 1 and len(lines) == 1 and lines[0].startswith("Error: Invalid value for '--var': "), out
    assert repr(f"code={value}") in lines[0]
    # The suggested argument passes the value as the very text typed.
    suggested = shlex.split(lines[0].split("to pass it as text: --var ")[1].split(" (see ")[0])[0]
    vars_ = ["--var", "count=1", "--var", "offset=0", "--var", "premium=false"]
    assert zones(cli, *vars_, "--var", suggested) == {"bs-main:zone/slot-0": f"Slot [{value}]"}


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("- a\n- b\n", 1, "a var file must hold one mapping"),
        ("a: 1\n---\nb: 2\n", 3, "a var file must hold one mapping"),
        ("a: 1\nb: [\n", 3, "YAML syntax error"),
        ("a: 1\na: 2\n", 2, "duplicate key `a`"),
        ("a: !!python/object:os.system x\n", 1, "unsupported YAML tag"),
    ],
)
def test_a_bad_var_file_is_one_line_naming_file_and_line(
    cli: Cli, tmp_path: Path, text: str, line: int, problem: str
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(text)
    code, out = cli("plan", "--var-file", str(bad))
    assert code == 1 and len(out.splitlines()) == 1, out
    assert out.startswith(f"Error: {bad}:{line}:") and problem in out
