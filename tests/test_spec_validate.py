"""Checks across spec documents: unique names, references, asset files."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reconciler.errors import SpecError, SpecIssue
from reconciler.spec import Source, SpecSet
from reconciler.spec.loader import load_specs
from reconciler.spec.models import Advertiser, Zone
from reconciler.spec.validate import check_references, check_unique

# A small valid project; each test breaks one thing in it.
TARGETS = """\
kind: Target
name: bs-main
platform: broadstreet
network_id: 85
credentials: {token_env: BROADSTREET_API_TOKEN}
---
kind: Target
name: meta-us
platform: meta
ad_account_id: act_123
page_id: "456"
credentials: {token_env: META_ACCESS_TOKEN}
---
kind: Target
name: bs-other
platform: broadstreet
network_id: 86
credentials: {token_env: BROADSTREET_API_TOKEN}
"""
REST = """\
kind: Advertiser
name: acme
display_name: ACME Corp
---
kind: Advertiser
name: globex
display_name: Globex
---
kind: Zone
name: home-leaderboard
target: bs-main
display_name: Homepage leaderboard
---
kind: Creative
name: summer-728x90
advertiser: acme
format: image/png
size: 728x90
asset: assets/summer.png
click_url: https://acme.example/summer
---
kind: Campaign
name: acme-summer
advertiser: acme
start_date: 2026-06-01
end_date: 2026-08-31
targets: [bs-main, meta-us]
creatives: [summer-728x90]
---
kind: Placement
campaign: acme-summer
creative: summer-728x90
zone: home-leaderboard
"""


def project(root: Path, rest: str = REST, extra: str = "") -> Path:
    specs = root / "specs"
    (specs / "assets").mkdir(parents=True)
    (specs / "assets/summer.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (specs / "targets.yaml").write_text(TARGETS)
    (specs / "main.yaml").write_text(rest)
    if extra:
        (specs / "extra.yaml").write_text(textwrap.dedent(extra))
    return root


def issues_of(root: Path) -> list[SpecIssue]:
    with pytest.raises(SpecError) as caught:
        load_specs(root)
    return caught.value.issues


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line of `text` that starts with `needle`."""
    hits = [n for n, line in enumerate(text.splitlines(), 1) if line.startswith(needle)]
    return hits[nth - 1]


def test_the_base_project_is_valid(tmp_path: Path) -> None:
    specs = load_specs(project(tmp_path))
    assert list(specs.placements) == ["acme-summer.summer-728x90.home-leaderboard"]


def test_duplicate_names_per_kind_name_both_places(tmp_path: Path) -> None:
    extra = """\
    kind: Advertiser
    name: acme
    display_name: ACME again
    ---
    kind: Zone
    name: acme
    target: bs-main
    display_name: a zone may share a name with an advertiser
    """
    issues = issues_of(project(tmp_path, extra=extra))
    # files load in sorted order, so specs/extra.yaml declares it first
    assert [(i.file, i.line, i.field) for i in issues] == [("specs/main.yaml", 1, "name")]
    assert "duplicate Advertiser `acme`: also declared at specs/extra.yaml:1" in issues[0].message


def test_duplicate_placements_are_found_by_derived_name(tmp_path: Path) -> None:
    extra = "kind: Placement\ncampaign: acme-summer\ncreative: summer-728x90\nzone: home-leaderboard\n"
    issues = issues_of(project(tmp_path, extra=extra))
    assert [(i.file, i.line) for i in issues] == [("specs/main.yaml", line_of(REST, "kind: Placement"))]
    assert "duplicate Placement `acme-summer.summer-728x90.home-leaderboard`" in issues[0].message
    assert "also declared at specs/extra.yaml:1" in issues[0].message


@pytest.mark.parametrize(
    ("old", "new", "field", "expected"),
    [
        ("advertiser: acme\nformat", "advertiser: acmee\nformat", "advertiser", "did you mean `acme`?"),
        ("target: bs-main\ndisplay", "target: bs-mian\ndisplay", "target", "did you mean `bs-main`?"),
        ("targets: [bs-main, meta-us]", "targets: [bs-main, meta-uss]", "targets.1", "unknown target `meta-uss`"),
        ("creatives: [summer-728x90]", "creatives: [summer-728x90, winter]", "creatives.1", "kind: Creative"),
        ("zone: home-leaderboard", "zone: home-leaderbord", "zone", "did you mean `home-leaderboard`?"),
    ],
)
def test_unknown_references_point_at_the_field_and_suggest(
    tmp_path: Path, old: str, new: str, field: str, expected: str
) -> None:
    assert old in REST
    rest = REST.replace(old, new)
    issues = issues_of(project(tmp_path, rest))
    assert len(issues) == 1, issues
    changed_line = next(
        n for n, (a, b) in enumerate(zip(REST.splitlines(), rest.splitlines(), strict=True), 1) if a != b
    )
    assert (issues[0].file, issues[0].line, issues[0].field) == ("specs/main.yaml", changed_line, field)
    assert expected in issues[0].message


def test_unknown_campaign_of_a_placement(tmp_path: Path) -> None:
    rest = REST.replace("campaign: acme-summer", "campaign: acme-sumer")
    issues = issues_of(project(tmp_path, rest))
    assert [(i.line, i.field) for i in issues] == [(line_of(rest, "campaign:"), "campaign")]
    assert issues[0].message == "unknown campaign `acme-sumer`; did you mean `acme-summer`?"


def test_zone_must_be_on_a_broadstreet_target(tmp_path: Path) -> None:
    extra = "kind: Zone\nname: feed\ntarget: meta-us\ndisplay_name: Feed\n"
    issues = issues_of(project(tmp_path, extra=extra))
    assert [(i.file, i.line, i.field) for i in issues] == [("specs/extra.yaml", 3, "target")]
    assert "zones exist only on broadstreet targets; `meta-us` is a meta target" in issues[0].message


def test_placement_needs_a_campaign_with_a_broadstreet_target(tmp_path: Path) -> None:
    rest = REST.replace("targets: [bs-main, meta-us]", "targets: [meta-us]")
    issues = issues_of(project(tmp_path, rest))
    assert [(i.line, i.field) for i in issues] == [(line_of(rest, "campaign:"), "campaign")]
    assert "has no broadstreet target" in issues[0].message


def test_placement_zone_must_be_on_one_of_the_campaigns_targets(tmp_path: Path) -> None:
    rest = REST.replace("target: bs-main\ndisplay", "target: bs-other\ndisplay")
    issues = issues_of(project(tmp_path, rest))
    assert [(i.line, i.field) for i in issues] == [(line_of(rest, "zone:"), "zone")]
    assert "zone `home-leaderboard` is on target `bs-other`" in issues[0].message
    assert "its broadstreet targets: bs-main" in issues[0].message


def test_placement_creative_must_be_one_of_the_campaigns_creatives(tmp_path: Path) -> None:
    extra = """\
    kind: Creative
    name: other
    advertiser: acme
    format: text/plain
    size: 1x1
    text: hello
    click_url: https://acme.example
    ---
    kind: Placement
    campaign: acme-summer
    creative: other
    zone: home-leaderboard
    """
    issues = issues_of(project(tmp_path, extra=extra))
    assert [(i.file, i.line, i.field) for i in issues] == [("specs/extra.yaml", 11, "creative")]
    assert "add it to the campaign's `creatives` list" in issues[0].message


def test_campaign_creatives_must_belong_to_its_advertiser(tmp_path: Path) -> None:
    rest = REST.replace("advertiser: acme\nformat", "advertiser: globex\nformat")
    issues = issues_of(project(tmp_path, rest))
    assert [(i.line, i.field) for i in issues] == [(line_of(rest, "creatives:"), "creatives.0")]
    assert "creative `summer-728x90` belongs to advertiser `globex`" in issues[0].message


def test_a_reference_listed_twice_is_reported(tmp_path: Path) -> None:
    rest = REST.replace("targets: [bs-main, meta-us]", "targets: [bs-main, meta-us, bs-main]")
    issues = issues_of(project(tmp_path, rest))
    assert [(i.line, i.field) for i in issues] == [(line_of(rest, "targets:"), "targets.2")]
    assert "`bs-main` is listed twice" in issues[0].message


def test_missing_asset_file_says_where_it_looked(tmp_path: Path) -> None:
    root = project(tmp_path)
    (root / "specs/assets/summer.png").unlink()
    issues = issues_of(root)
    assert [(i.line, i.field) for i in issues] == [(line_of(REST, "asset:"), "asset")]
    assert issues[0].message == "asset file `assets/summer.png` does not exist (looked for specs/assets/summer.png)"


def test_check_references_without_field_lines_points_at_the_document() -> None:
    specs = SpecSet(
        advertisers={"acme": Advertiser(kind="Advertiser", name="acme", display_name="ACME")},
        zones={"z": Zone(kind="Zone", name="z", target="nowhere", display_name="Z")},
        sources={("Zone", "z"): Source("specs/z.yaml", 4)},
    )
    issues = check_references(specs)
    assert issues == [
        SpecIssue("specs/z.yaml", 4, "target", "unknown target `nowhere`; declare it with `kind: Target`")
    ]


def test_check_unique_keeps_the_first_and_reports_later_ones() -> None:
    first, second, third = Source("a.yaml", 1), Source("b.yaml", 2), Source("c.yaml", 3)
    issues = check_unique([("Zone", "z", first), ("Zone", "z", second), ("Advertiser", "z", third)])
    assert [(i.file, i.line) for i in issues] == [("b.yaml", 2)]
    assert "also declared at a.yaml:1" in issues[0].message


def test_references_to_an_invalid_document_are_not_reported_again(tmp_path: Path) -> None:
    rest = REST.replace("end_date: 2026-08-31", "end_date: 2026-05-31")
    issues = issues_of(project(tmp_path, rest))
    # only the campaign's own problem, not "unknown campaign" on its placement
    assert [(i.line, i.field) for i in issues] == [(line_of(rest, "end_date:"), "end_date")]
    assert issues[0].message.startswith("end_date 2026-05-31 is before start_date 2026-06-01")


def test_an_invalid_target_is_reported_once_not_on_every_placement(tmp_path: Path) -> None:
    root = project(tmp_path)
    targets = root / "specs" / "targets.yaml"
    targets.write_text(TARGETS.replace("network_id: 85", "network_id: 85\nrate_limit: 100000", 1))
    issues = issues_of(root)
    assert [(i.file, i.field) for i in issues] == [("specs/targets.yaml", "rate_limit")]
