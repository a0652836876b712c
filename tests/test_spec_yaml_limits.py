"""What the loader refuses to build: aliases or templates expanding past a bound, control characters."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from reconciler.errors import SpecError, SpecIssue
from reconciler.spec.loader import ALIAS_ALLOWANCE, load_specs
from tests.e2e import run_reconciler

ADVERTISER = "kind: Advertiser\nname: {name}\ndisplay_name: ACME\n"


def laughs(levels: int, name: str = "acme") -> str:
    """An advertiser whose labels hold `levels` of aliases, each repeating the previous ten times."""
    lines = [ADVERTISER.format(name=name) + "labels:", "  l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels):
        lines.append(f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def issues_of(root: Path, name: str, text: str) -> list[SpecIssue]:
    (root / "specs").mkdir(exist_ok=True)
    (root / "specs" / name).write_text(text)
    with pytest.raises(SpecError) as caught:
        load_specs(root)
    return caught.value.issues


def test_exponential_aliases_stop_at_the_line_of_the_alias(tmp_path: Path) -> None:
    text = "# a billion laughs\n" + laughs(9)  # 10**9 values if built
    [issue] = issues_of(tmp_path, "bomb.yaml", text)
    assert (issue.file, issue.line) == ("specs/bomb.yaml", text.count("\n"))  # the last alias line expands most
    limit = len(text) + ALIAS_ALLOWANCE
    assert issue.message == (
        f"aliases here expand the file to more than {limit:,} values; "
        "write the repeated values out, or generate them with a .j2 template"
    )


def test_the_budget_is_per_file_so_many_small_expansions_add_up(tmp_path: Path) -> None:
    docs = [laughs(5, f"adv-{n}") for n in range(30)]  # 10**5 values each: one document alone is fine
    issues = issues_of(tmp_path, "many.yaml", "---\n".join(docs))
    [issue] = [i for i in issues if i.message.startswith("aliases here expand the file")]
    lines_per_doc = docs[0].count("\n") + 1
    assert issue.file == "specs/many.yaml" and 1 <= (issue.line - 1) // lines_per_doc < 10
    assert max(i.line for i in issues) == issue.line  # the documents after it were not built


def test_ordinary_aliases_and_merges_are_not_limited(tmp_path: Path) -> None:
    doc = (
        "kind: Advertiser\nname: adv-{n}\ndisplay_name: &name ACME\n"
        "labels:\n  <<: &base {{owner: ads, tier: gold, region: eu}}\n  copy: *name\n"
    )
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "advertisers.yaml").write_text("---\n".join(doc.format(n=n) for n in range(10_000)))
    advertisers = load_specs(tmp_path).advertisers
    assert len(advertisers) == 10_000
    assert advertisers["adv-9999"].labels == {"owner": "ads", "tier": "gold", "region": "eu", "copy": "ACME"}


@pytest.mark.parametrize("character", ["\x07", "\x00", "\x1b", "\x7f"])
def test_a_control_character_is_reported_at_its_line(tmp_path: Path, character: str) -> None:
    text = (
        ADVERTISER.format(name="acme") + f"---\n# é comment\n{ADVERTISER.format(name='b')}web_home_url: x{character}y\n"
    )
    [issue] = issues_of(tmp_path, "ctl.yaml", text)
    assert (issue.file, issue.line) == ("specs/ctl.yaml", 9)
    assert issue.message == f"the control character U+{ord(character):04X} is not allowed in YAML; remove it"


def test_validate_command_refuses_a_billion_laughs_quickly(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "bomb.yaml").write_text(laughs(12))  # 10**12 values if built
    try:
        result = run_reconciler(tmp_path, "validate", timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("reconciler validate expanded the aliases")
    assert result.returncode == 1 and result.stdout == ""
    assert "Traceback" not in result.stderr
    assert f"specs/bomb.yaml:{laughs(12).count(chr(10))}: aliases here expand the file" in result.stderr


def test_a_template_that_renders_past_the_size_limit_stops_at_its_line(tmp_path: Path) -> None:
    text = (
        ADVERTISER.format(name="acme") + "labels:\n{% for i in range(100000) %}{% for j in range(100000) %}\n"
        "  k{{ i }}-{{ j }}: v\n{% endfor %}{% endfor %}\n"
    )  # 10**10 lines if rendered
    [issue] = issues_of(tmp_path, "big.yaml.j2", text)
    assert (issue.file, issue.line) == ("specs/big.yaml.j2", 6)
    assert (
        issue.message == "the rendered template is larger than 8 MB, the limit for a spec file; split it into several"
    )


@pytest.mark.parametrize(
    ("expression", "says"),
    [
        ('{{ "x" * 10**10 }}', "repeating a value 10000000000 times makes it larger than 8 MB"),
        ("{{ 10**10 * 'x' }}", "repeating a value 10000000000 times"),
        ("{{ [1] * 100000000 }}", "repeating a value 100000000 times"),
        ("{{ 10 ** 100000000 }}", "is too large for a spec"),
    ],
)
def test_one_expression_cannot_build_a_huge_value(tmp_path: Path, expression: str, says: str) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "x.yaml.j2").write_text(f"kind: Advertiser\nname: a\ndisplay_name: '{expression}'\n")
    with pytest.raises(SpecError) as raised:
        load_specs(tmp_path)
    (issue,) = raised.value.issues
    assert issue.file == "specs/x.yaml.j2" and issue.line == 3 and says in issue.message


def test_ordinary_arithmetic_in_templates_still_works(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    text = "kind: Advertiser\nname: a\ndisplay_name: '{{ '-' * 3 }}{{ 2 ** 10 }}{{ 3 * 4 }}'\n"
    (tmp_path / "specs" / "x.yaml.j2").write_text(text)
    assert load_specs(tmp_path).advertisers["a"].display_name == "---102412"
