"""Two sets of documents may not derive the same resource address (dotted names joined with dots)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import SpecError, SpecIssue
from reconciler.spec.compile import compile_specs
from reconciler.spec.loader import load_specs
from tests.conftest import SPECS, png_bytes

BASE = SPECS.split("kind: Creative")[0]  # the four targets, the advertiser and the zone `home-lb`


def creative(name: str) -> str:
    return (
        f"kind: Creative\nname: {name}\nadvertiser: acme\nformat: image/png\nsize: 728x90\n"
        f"asset: banner.png\nclick_url: https://acme.example/{name}\n"
    )


def campaign(name: str, creatives: list[str], targets: list[str]) -> str:
    return (
        f"kind: Campaign\nname: {name}\nadvertiser: acme\nstart_date: 2026-06-01\nend_date: 2026-08-31\n"
        f"targets: [{', '.join(targets)}]\ncreatives: [{', '.join(creatives)}]\n"
        "budget: {daily: 50.00, currency: USD}\naudience: {countries: [US]}\n"
    )


def write(root: Path, *docs: str) -> Path:
    (root / "specs").mkdir()
    (root / "specs" / "banner.png").write_bytes(png_bytes())
    (root / "specs" / "base.yaml").write_text(BASE)
    (root / "specs" / "main.yaml").write_text("---\n".join(docs))
    return root


def compile_issues(root: Path) -> list[SpecIssue]:
    with pytest.raises(SpecError) as caught:
        compile_specs(load_specs(root))
    return caught.value.issues


def document_line(root: Path, text: str) -> int:
    """Line of the document (its `kind:`) whose line after `kind:` is `text`."""
    return (root / "specs/main.yaml").read_text().splitlines().index(text)


@pytest.mark.parametrize(
    ("target", "address"),
    [
        ("meta-us", "meta-us:adcreative/a.b.c"),
        ("tiktok-us", "tiktok-us:ad/a.b.c"),
        ("snap-us", "snap-us:creative/a.b.c"),
    ],
)
def test_campaign_and_creative_names_that_join_alike_are_one_error_naming_all_four(
    tmp_path: Path, target: str, address: str
) -> None:
    root = write(
        tmp_path,
        creative("c"),
        creative("b.c"),
        campaign("a.b", ["c"], [target]),
        campaign("a", ["b.c"], [target]),
    )
    lines = {name: document_line(root, f"name: {name}") for name in ("c", "b.c", "a.b", "a")}
    assert compile_issues(root) == [
        SpecIssue(
            "specs/main.yaml",
            lines["a"],
            "name",
            f"campaign `a` (specs/main.yaml:{lines['a']}) with creative `b.c` (specs/main.yaml:{lines['b.c']}) and "
            f"campaign `a.b` (specs/main.yaml:{lines['a.b']}) with creative `c` (specs/main.yaml:{lines['c']}) "
            f"both derive {address}, and only one resource can have it; rename one of them so that the names "
            "joined with '.' differ",
        )
    ]


def test_one_error_per_colliding_pair_across_targets_and_types(tmp_path: Path) -> None:
    targets = ["bs-main", "meta-us", "tiktok-us", "snap-us"]
    root = write(
        tmp_path, creative("c"), creative("b.c"), campaign("a.b", ["c"], targets), campaign("a", ["b.c"], targets)
    )
    [issue] = compile_issues(root)
    assert "meta-us:adcreative/a.b.c" in issue.message  # the first address derived twice


def test_derived_placement_names_that_join_alike_name_both_documents(tmp_path: Path) -> None:
    placement = "kind: Placement\ncampaign: {}\ncreative: {}\nzone: home-lb\n"
    root = write(
        tmp_path,
        creative("c"),
        creative("b.c"),
        campaign("a.b", ["c"], ["bs-main"]),
        campaign("a", ["b.c"], ["bs-main"]),
        placement.format("a.b", "c"),
        placement.format("a", "b.c"),
    )
    first, second = (document_line(root, f"campaign: {name}") for name in ("a.b", "a"))
    [issue] = compile_issues(root)
    assert (issue.file, issue.line, issue.field) == ("specs/main.yaml", second, "name")
    assert f"also declared at specs/main.yaml:{first}" in issue.message
    assert "duplicate Placement `a.b.c.home-lb`" in issue.message
    assert "a placement without `name` is named CAMPAIGN.CREATIVE.ZONE" in issue.message


def test_a_creative_shared_by_campaigns_is_one_upload_not_a_collision(tmp_path: Path) -> None:
    targets = ["bs-main", "meta-us", "tiktok-us", "snap-us"]
    root = write(tmp_path, creative("c"), campaign("a.b", ["c"], targets), campaign("a", ["c"], targets))
    addresses = [r.address for r in compile_specs(load_specs(root)).resources]
    assert len(addresses) == len(set(addresses))
    assert {"meta-us:adimage/c", "meta-us:ad/a.b.c", "meta-us:ad/a.c", "bs-main:advertisement/c"} <= set(addresses)
