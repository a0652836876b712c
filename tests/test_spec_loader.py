"""Loading specs: file discovery, templates, YAML with line numbers, per-document validation."""

from __future__ import annotations

import datetime as dt
import os
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from reconciler.errors import SpecError, SpecIssue
from reconciler.spec import Source
from reconciler.spec.loader import load_specs

EXAMPLE_PROJECT = Path(__file__).resolve().parents[1]

TARGET = """\
kind: Target
name: bs-main
platform: broadstreet
network_id: 85
credentials: {token_env: BROADSTREET_API_TOKEN}
"""
ADVERTISER = """\
kind: Advertiser
name: acme
display_name: ACME Corp
"""
CAMPAIGN = """\
kind: Campaign
name: acme-summer
advertiser: acme
start_date: 2026-06-01
end_date: 2026-08-31
targets: [bs-main]
"""
BASE = TARGET + "---\n" + ADVERTISER


def write(root: Path, rel: str, text: str) -> Path:
    path = root / "specs" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def issues_of(root: Path, variables: dict[str, str] | None = None) -> list[SpecIssue]:
    with pytest.raises(SpecError) as caught:
        load_specs(root, variables)
    return caught.value.issues


def only_issue(root: Path, variables: dict[str, str] | None = None) -> SpecIssue:
    issues = issues_of(root, variables)
    assert len(issues) == 1, issues
    return issues[0]


# ---------------------------------------------------------------- the example spec set


def test_example_specs_load_cleanly() -> None:
    specs = load_specs(EXAMPLE_PROJECT)
    assert set(specs.targets) == {"bs-main", "meta-us", "tiktok-us", "snap-us"}
    assert {t.platform for t in specs.targets.values()} == {"broadstreet", "meta", "tiktok", "snapchat"}
    assert len(specs.advertisers) == 2 and len(specs.zones) == 3 and len(specs.campaigns) == 3
    assert len(specs.creatives) == 6 and len(specs.placements) == 8
    formats = sorted(c.format for c in specs.creatives.values())
    assert "video/mp4" in formats and "text/html" in formats
    assert [c.name for c in specs.campaigns.values() if c.paused] == ["acme-holiday"]
    budget = specs.campaigns["acme-summer"].budget
    assert budget is not None and budget.daily == Decimal("50.00") and budget.currency == "USD"
    for campaign in specs.campaigns.values():
        assert any(specs.targets[t].platform == "broadstreet" for t in campaign.targets)
    for name, path in specs.asset_paths.items():
        assert path.is_absolute() and path.is_file(), name
        assert path.stat().st_size < 2048
    # the templated campaign took its values from specs/vars.yaml
    launch = specs.campaigns["northwind-launch"]
    assert launch.start_date == dt.date(2026, 7, 1)
    assert launch.audience is not None and launch.audience.countries == ["US", "CA"]
    assert specs.sources[("Campaign", "northwind-launch")].file == "specs/northwind/launch.yaml.j2"


def test_example_asset_files_are_what_their_format_says() -> None:
    specs = load_specs(EXAMPLE_PROJECT)
    magic = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff", "video/mp4": b"ftyp"}
    for name, path in specs.asset_paths.items():
        head = path.read_bytes()[:12]
        expected = magic[specs.creatives[name].format]
        assert expected in head, name


# ---------------------------------------------------------------- discovery, sources, assets


def test_finds_all_spec_suffixes_in_nested_directories_in_sorted_order(tmp_path: Path) -> None:
    write(tmp_path, "b/targets.yml", TARGET)
    write(tmp_path, "a/adv.yaml", ADVERTISER)
    write(tmp_path, "c/campaign.yaml.j2", CAMPAIGN.replace("acme-summer", "{{ prefix }}-summer"))
    write(tmp_path, "c/other.yml.j2", CAMPAIGN.replace("acme-summer", "{{ prefix }}-winter"))
    write(tmp_path, "vars.yaml", "prefix: acme\n")
    write(tmp_path, "notes.txt", "kind: nonsense\n")
    write(tmp_path, ".hidden/x.yaml", "kind: nonsense\n")
    specs = load_specs(tmp_path)
    assert list(specs.campaigns) == ["acme-summer", "acme-winter"]
    assert [s.file for s in specs.sources.values()] == [
        "specs/a/adv.yaml",
        "specs/b/targets.yml",
        "specs/c/campaign.yaml.j2",
        "specs/c/other.yml.j2",
    ]


def test_sources_and_asset_paths_are_relative_to_the_declaring_file(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", BASE)
    write(
        tmp_path,
        "acme/creatives.yaml",
        """\
        # a comment first
        ---
        kind: Creative
        name: banner
        advertiser: acme
        format: image/png
        size: 728x90
        asset: ../assets/banner.png
        click_url: https://acme.example
        """,
    )
    (tmp_path / "specs/assets").mkdir()
    (tmp_path / "specs/assets/banner.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    specs = load_specs(tmp_path)
    assert specs.asset_paths["banner"] == (tmp_path / "specs/assets/banner.png").resolve()
    assert specs.sources[("Creative", "banner")] == Source("specs/acme/creatives.yaml", 3)
    assert specs.sources[("Target", "bs-main")] == Source("specs/base.yaml", 1)
    assert specs.sources[("Advertiser", "acme")] == Source("specs/base.yaml", 7)


def test_empty_documents_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "---\n---\n# only a comment\n---\n" + BASE + "---\n")
    write(tmp_path, "empty.yaml", "")
    specs = load_specs(tmp_path)
    assert list(specs.targets) == ["bs-main"] and list(specs.advertisers) == ["acme"]


def test_placement_is_keyed_by_its_derived_name(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", BASE)
    write(
        tmp_path,
        "b.yaml",
        CAMPAIGN.replace("targets:", "creatives: [k]\ntargets:")
        + """\
---
kind: Creative
name: k
advertiser: acme
format: text/html
size: 300x250
html: <b>hi</b>
click_url: https://acme.example
---
kind: Zone
name: z
target: bs-main
display_name: Zone
---
kind: Placement
campaign: acme-summer
creative: k
zone: z
""",
    )
    specs = load_specs(tmp_path)
    assert list(specs.placements) == ["acme-summer.k.z"]
    assert specs.sources[("Placement", "acme-summer.k.z")].line == 22


def test_yaml_anchors_and_merge_keys_work(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        BASE
        + """\
---
kind: Campaign
name: two
<<: {advertiser: nobody, start_date: 2026-06-01, end_date: 2026-06-30}
advertiser: acme
targets: [bs-main]
labels: &labels {team: growth, on: "yes"}
overrides: {meta: *labels}
""",
    )
    campaign = load_specs(tmp_path).campaigns["two"]
    assert campaign.advertiser == "acme"  # explicit keys win over merged ones
    assert campaign.end_date == dt.date(2026, 6, 30)
    assert campaign.labels == {"team": "growth", "on": "yes"}  # keys stay as written, not booleans
    assert campaign.overrides == {"meta": {"team": "growth", "on": "yes"}}


def test_missing_specs_directory_is_an_issue(tmp_path: Path) -> None:
    issue = only_issue(tmp_path)
    assert issue.file == "specs" and "no specs/ directory" in issue.message


# ---------------------------------------------------------------- reading and YAML errors


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", BASE + "---\nkind: Zone\nname: z\n  target: [bs-main\n")
    issue = only_issue(tmp_path)
    assert (issue.file, issue.line) == ("specs/a.yaml", 13)
    assert issue.message.startswith("YAML syntax error")


def test_duplicate_keys_are_errors_with_both_lines(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        BASE
        + """\
---
kind: Campaign
name: acme-summer
advertiser: acme
start_date: 2026-06-01
end_date: 2026-08-31
targets: [bs-main]
budget:
  daily: 10.00
  currency: USD
  daily: 20.00
advertiser: acme
""",
    )
    issues = issues_of(tmp_path)
    assert [(i.line, i.field) for i in issues] == [(20, "budget.daily"), (21, "advertiser")]
    assert "duplicate key `daily` (first at line 18)" in issues[0].message
    assert "duplicate key `advertiser` (first at line 13)" in issues[1].message


def test_bad_utf8_is_an_issue_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "specs/a.yaml"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"kind: Advertiser\nname: acme\ndisplay_name: Caf\xe9\n")
    issue = only_issue(tmp_path)
    assert (issue.file, issue.line) == ("specs/a.yaml", 3)
    assert "UTF-8" in issue.message


def test_unreadable_file_is_an_issue(tmp_path: Path) -> None:
    write(tmp_path, "ok.yaml", BASE)
    os.symlink(tmp_path / "nowhere.yaml", tmp_path / "specs/broken.yaml")
    issue = only_issue(tmp_path)
    assert issue.file == "specs/broken.yaml" and issue.message == "this file does not exist (looked for nowhere.yaml)"


def test_unsupported_tag_and_recursive_alias_are_issues(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "kind: Advertiser\nname: !secret acme\ndisplay_name: A\n")
    write(tmp_path, "b.yaml", "kind: Advertiser\nname: b\nlabels: &x [*x]\n")
    issues = issues_of(tmp_path)
    assert [(i.file, i.line, i.field) for i in issues] == [("specs/a.yaml", 2, "name"), ("specs/b.yaml", 1, "")]
    assert "unsupported YAML tag !secret" in issues[0].message
    assert "alias refers to itself" in issues[1].message


# ---------------------------------------------------------------- document shape and kinds


def test_document_must_be_a_mapping_with_a_known_kind(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "- just\n- a list\n---\nname: x\n---\nkind: Campain\nname: x\n---\nkind: [a]\n")
    issues = issues_of(tmp_path)
    assert [(i.line, i.field) for i in issues] == [(1, ""), (4, "kind"), (6, "kind"), (9, "kind")]
    assert "must be a mapping" in issues[0].message
    assert "missing required field `kind`" in issues[1].message and "Placement" in issues[1].message
    assert "unknown kind 'Campain'" in issues[2].message
    assert "did you mean `Campaign`?" in issues[2].message
    assert "Target, Advertiser, Zone, Creative, Campaign, Placement" in issues[2].message


def test_unknown_field_lists_valid_fields_and_suggests(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", BASE + "---\n" + CAMPAIGN + "budjet: {daily: 5.00, currency: USD}\n")
    issue = only_issue(tmp_path)
    assert (issue.file, issue.line, issue.field) == ("specs/a.yaml", 17, "budjet")
    assert issue.message.startswith("unknown field `budjet`; valid fields for Campaign are: kind, name, labels")
    assert issue.message.endswith("did you mean `budget`?")


def test_unknown_nested_field_names_the_nested_fields(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", BASE + "---\n" + CAMPAIGN + "budget:\n  currency: USD\n  daly: 5.00\n")
    issue = only_issue(tmp_path)
    assert (issue.line, issue.field) == (19, "budget.daly")
    assert "valid fields for `budget` are: daily, lifetime, currency" in issue.message
    assert "did you mean `daily`?" in issue.message


def test_unknown_field_on_a_target_drops_the_union_tag(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", TARGET + "netwrk: 12\n")
    issue = only_issue(tmp_path)
    assert (issue.line, issue.field) == (6, "netwrk")
    assert "valid fields for a broadstreet Target are:" in issue.message
    assert "did you mean `network_id`?" in issue.message


def test_missing_required_field_points_at_the_document(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", BASE + "---\nkind: Zone\nname: z\ntarget: bs-main\n")
    issue = only_issue(tmp_path)
    assert (issue.line, issue.field) == (11, "display_name")
    assert issue.message.startswith("missing required field `display_name`")


def test_missing_nested_field_points_at_its_parent(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", BASE + "---\n" + CAMPAIGN + "budget:\n  daily: 5.00\n")
    issue = only_issue(tmp_path)
    assert (issue.line, issue.field) == (17, "budget.currency")
    assert "missing required field `currency`" in issue.message


@pytest.mark.parametrize(
    ("text", "line", "field", "expected"),
    [
        (ADVERTISER.replace("name: acme", "name: ACME Corp"), 2, "name", "names use lowercase letters"),
        (
            TARGET.replace("broadstreet\nnetwork_id: 85", "meta\nad_account_id: '123'\npage_id: 1"),
            4,
            "ad_account_id",
            "act_ followed by digits",
        ),
        (
            "kind: Target\nname: s\nplatform: snapchat\nad_account_id: ABC\ncredentials:\n"
            "  refresh_token_env: R\n  client_id_env: C\n  client_secret_env: S\n",
            4,
            "ad_account_id",
            "UUID",
        ),
        (
            "kind: Creative\nname: k\nadvertiser: acme\nformat: image/png\nsize: 728X90\n"
            "asset: k.png\nclick_url: https://acme.example\n",
            5,
            "size",
            "WIDTHxHEIGHT like 728x90",
        ),
        (
            "kind: Creative\nname: k\nadvertiser: acme\nformat: image/pgn\nsize: 728x90\n"
            "asset: k.png\nclick_url: https://acme.example\n",
            4,
            "format",
            "did you mean `image/png`?",
        ),
        (
            "kind: Creative\nname: k\nadvertiser: acme\nformat: image/png\nsize: 728x90\n"
            "asset: k.png\nclick_url: acme.example\n",
            7,
            "click_url",
            "http:// or https:// URL",
        ),
        (CAMPAIGN.replace("2026-08-31", "2026-13-01"), 5, "end_date", "expected a date like 2026-06-01"),
        (CAMPAIGN + "audience: {countries: [US, NO]}\n", 7, "audience.countries.1", "put the value in quotes"),
        (CAMPAIGN + "overrides:\n  facebook: {}\n", 8, "overrides.facebook", "invalid key 'facebook'"),
        (CAMPAIGN + "budget: {daily: 5.001, currency: USD}\n", 7, "budget.daily", "at most 2 decimal places"),
        (CAMPAIGN.replace("[bs-main]", "[]"), 6, "targets", "needs at least 1 item"),
        (CAMPAIGN + "audience: {countries: [US], age_min: 30, age_max: 20}\n", 7, "audience", "below age_min"),
    ],
)
def test_invalid_values_explain_the_expected_form(
    tmp_path: Path, text: str, line: int, field: str, expected: str
) -> None:
    write(tmp_path, "a.yaml", text)
    issues = [i for i in issues_of(tmp_path) if i.field == field]
    assert len(issues) == 1
    assert (issues[0].file, issues[0].line) == ("specs/a.yaml", line)
    assert expected in issues[0].message


def test_target_platform_missing_or_unknown(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "kind: Target\nname: t\n---\nkind: Target\nname: u\nplatform: facebok\n")
    issues = issues_of(tmp_path)
    assert [(i.line, i.field) for i in issues] == [(1, "platform"), (6, "platform")]
    assert "missing required field `platform`" in issues[0].message
    assert "broadstreet, meta, tiktok, snapchat" in issues[0].message
    assert "unknown platform 'facebok'" in issues[1].message


def test_credentials_values_are_never_echoed(tmp_path: Path) -> None:
    secret = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhY21lIn0.c2lnbmF0dXJl"
    write(tmp_path, "a.yaml", TARGET.replace("BROADSTREET_API_TOKEN", secret))
    issue = only_issue(tmp_path)
    assert issue.field == "credentials.token_env" and issue.line == 5
    assert "NAME of an environment variable" in issue.message
    assert secret not in str(SpecError([issue]))


def test_content_rule_of_a_creative_is_explained(tmp_path: Path) -> None:
    write(
        tmp_path,
        "a.yaml",
        "kind: Creative\nname: k\nadvertiser: acme\nformat: text/html\nsize: 300x250\n"
        "asset: k.png\nclick_url: https://acme.example\n",
    )
    issue = only_issue(tmp_path)
    assert (issue.line, issue.field) == (1, "")
    assert issue.message == "format text/html takes `html`, not `asset`"


def test_all_problems_of_a_run_come_together(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "kind: Advertiser\nname: Bad Name\ndisplay_name: x\n")
    write(tmp_path, "b/c.yaml", "kind: Zone\nname: z\n: [\n")
    write(tmp_path, "d.yaml.j2", "kind: Advertiser\nname: {{ missing }}\n")
    write(tmp_path, "e.yaml", TARGET + "---\n" + CAMPAIGN + "---\n" + CAMPAIGN.replace("acme-", "") + "paused: maybe\n")
    with pytest.raises(SpecError) as caught:
        load_specs(tmp_path)
    issues = caught.value.issues
    assert {i.file for i in issues} == {"specs/a.yaml", "specs/b/c.yaml", "specs/d.yaml.j2", "specs/e.yaml"}
    assert str(caught.value).startswith(f"{len(issues)} problems in the specs:")
    # a reference problem is reported in the same run as the per-document ones
    assert any(i.field == "advertiser" and "unknown advertiser `acme`" in i.message for i in issues)


# ---------------------------------------------------------------- templates


def test_template_sandbox_refuses_python_internals(tmp_path: Path) -> None:
    write(tmp_path, "evil.yaml.j2", "kind: Advertiser\nname: x\ndisplay_name: \"{{ ''.__class__.__mro__ }}\"\n")
    issue = only_issue(tmp_path)
    assert (issue.file, issue.line) == ("specs/evil.yaml.j2", 3)
    assert issue.message == (
        "template tried to access an unsafe attribute; templates may only use variables and filters"
    )


def test_template_cannot_read_files(tmp_path: Path) -> None:
    write(tmp_path, "secret.txt", "top secret\n")
    write(tmp_path, "a.yaml.j2", "kind: Advertiser\nname: a\ndisplay_name: {% include 'secret.txt' %}\n")
    issue = only_issue(tmp_path)
    assert issue.line == 3 and issue.message.startswith("template failed")


def test_undefined_template_variable_says_how_to_define_it(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml.j2", "kind: Advertiser\nname: acme\ndisplay_name: {{ brand_name }}\n")
    issue = only_issue(tmp_path)
    assert (issue.file, issue.line) == ("specs/a.yaml.j2", 3)
    assert issue.message == (
        "template variable `brand_name` is not defined; define it in specs/vars.yaml or pass --var brand_name=VALUE"
    )


def test_template_syntax_error_names_the_template_line(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml.j2", "kind: Advertiser\nname: acme\n\ndisplay_name: {% if %}\n")
    issue = only_issue(tmp_path)
    assert (issue.line, issue.field) == (4, "")
    assert issue.message.startswith("template syntax error")


def test_var_overrides_vars_yaml(tmp_path: Path) -> None:
    write(tmp_path, "vars.yaml", "brand: acme\ndisplay: ACME Corp\n")
    write(tmp_path, "a.yaml.j2", "kind: Advertiser\nname: {{ brand }}\ndisplay_name: {{ display }}\n")
    assert load_specs(tmp_path).advertisers["acme"].display_name == "ACME Corp"
    specs = load_specs(tmp_path, {"brand": "globex"})
    assert list(specs.advertisers) == ["globex"]
    assert specs.advertisers["globex"].display_name == "ACME Corp"


def test_vars_yaml_must_be_a_mapping(tmp_path: Path) -> None:
    write(tmp_path, "vars.yaml", "- a\n- b\n")
    write(tmp_path, "a.yaml", ADVERTISER)
    issue = only_issue(tmp_path)
    assert issue.file == "specs/vars.yaml" and "one mapping" in issue.message


def test_plain_yaml_files_are_not_templates(tmp_path: Path) -> None:
    write(tmp_path, "a.yaml", "kind: Advertiser\nname: acme\ndisplay_name: '{{ not rendered }}'\n")
    assert load_specs(tmp_path).advertisers["acme"].display_name == "{{ not rendered }}"
