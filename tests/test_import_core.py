"""The platform-neutral parts of `reconciler import`: names, which documents a filter brings, the writer."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from reconciler.errors import ReconcilerError
from reconciler.importer import ImportRequest, _select
from reconciler.importer.model import ASSET_REF, Names, Unit, is_spec_name, slugify
from reconciler.importer.writer import SpecWriter
from reconciler.providers.base import Listed


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("Spring Sale (US) 2026", "spring-sale-us-2026"),
        ("  Été — Café  ", "ete-cafe"),
        ("acme.summer_v2", "acme.summer_v2"),
        ("!!!", ""),
        ("x" * 300, "x" * 120),
    ],
)
def test_slugify_gives_a_valid_spec_name(text: str, slug: str) -> None:
    assert slugify(text) == slug
    assert slug == "" or is_spec_name(slug)


def test_names_are_unique_per_kind_and_avoid_declared_ones() -> None:
    names = Names({"Campaign": ["spring"]})
    assert names.claim("Campaign", "Spring", "campaign-1") == "spring-2"
    assert names.claim("Campaign", "SPRING", "campaign-2") == "spring-3"
    assert names.claim("Creative", "Spring", "creative-1") == "spring"  # another kind
    assert names.claim("Campaign", "???", "campaign 77") == "campaign-77"


def unit(kind: str, name: str, type_: str, platform_name: str, needs: list[tuple[str, str]] = ()) -> Unit:
    return Unit(
        document={"kind": kind, "name": name},
        objects=[Listed(type_, f"{name}-id", {"name": platform_name})],
        needs=list(needs),
    )


UNITS = [
    unit("Advertiser", "acme", "advertiser", "ACME"),
    unit("Creative", "banner", "advertisement", "Banner", [("Advertiser", "acme")]),
    unit("Creative", "other", "advertisement", "Other", [("Advertiser", "acme")]),
    unit("Campaign", "spring", "campaign", "Spring Sale", [("Advertiser", "acme"), ("Creative", "banner")]),
    unit("Campaign", "autumn", "campaign", "Autumn", [("Advertiser", "acme")]),
]


def keys(units: list[Unit]) -> set[tuple[str, str]]:
    return {u.key for u in units}


def test_without_filters_every_unit_is_imported() -> None:
    assert keys(_select(UNITS, ImportRequest())) == keys(UNITS)


def test_a_filter_brings_what_the_chosen_documents_cannot_go_without() -> None:
    chosen = _select(UNITS, ImportRequest(name_contains="spring"))
    assert keys(chosen) == {("Campaign", "spring"), ("Advertiser", "acme"), ("Creative", "banner")}


def test_a_chosen_creative_brings_the_campaigns_showing_it() -> None:
    chosen = _select(UNITS, ImportRequest(types=("advertisement",), name_contains="banner"))
    assert keys(chosen) == {("Creative", "banner"), ("Advertiser", "acme"), ("Campaign", "spring")}


def test_type_and_name_must_match_the_same_object() -> None:
    assert _select(UNITS, ImportRequest(types=("campaign",), name_contains="banner")) == []


def test_writer_appends_to_an_earlier_import_and_names_files_apart(tmp_path: Path) -> None:
    (tmp_path / "specs" / "imported").mkdir(parents=True)
    earlier = tmp_path / "specs" / "imported" / "bs.yaml"
    earlier.write_text("kind: Advertiser\nname: old\ndisplay_name: Old\n")
    (tmp_path / "assets" / "imported").mkdir(parents=True)
    (tmp_path / "assets" / "imported" / "banner.png").write_bytes(b"someone else's file")

    creative = Unit(
        document={"kind": "Creative", "name": "banner", "asset": ASSET_REF + "banner.png"},
        assets={"banner.png": b"the imported bytes"},
        comment="from advertisement 42",
    )
    writer = SpecWriter(tmp_path)
    writer.add("bs", [creative])
    written = writer.write()

    assert (tmp_path / "assets" / "imported" / "banner.png").read_bytes() == b"someone else's file"
    assert (tmp_path / "assets" / "imported" / "banner-2.png").read_bytes() == b"the imported bytes"
    documents = list(yaml.safe_load_all(earlier.read_text()))
    assert documents[0]["name"] == "old"
    assert documents[1]["asset"] == ASSET_REF + "banner-2.png"
    assert "# from advertisement 42" in earlier.read_text()
    assert set(written) == {Path("assets/imported/banner-2.png"), Path("specs/imported/bs.yaml")}

    writer.undo()
    assert earlier.read_text() == "kind: Advertiser\nname: old\ndisplay_name: Old\n"
    assert not (tmp_path / "assets" / "imported" / "banner-2.png").exists()


def test_writer_refuses_a_spec_file_it_cannot_read_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "specs" / "imported" / "bs.yaml").mkdir(parents=True)  # a directory where the file goes
    writer = SpecWriter(tmp_path)
    writer.add("bs", [Unit(document={"kind": "Advertiser", "name": "a"}, assets={"a.png": b"x"})])
    with pytest.raises(ReconcilerError):
        writer.write()
    assert not (tmp_path / "assets" / "imported" / "a.png").exists()


def test_the_same_bytes_are_one_file_whatever_the_names(tmp_path: Path) -> None:
    (tmp_path / "assets" / "imported").mkdir(parents=True)
    (tmp_path / "assets" / "imported" / "earlier.png").write_bytes(b"image one")
    units = [
        Unit(document={"kind": "Creative", "name": n, "asset": ASSET_REF + f"{n}.png"}, assets={f"{n}.png": data})
        for n, data in (("a", b"image one"), ("b", b"image two"), ("c", b"image two"))
    ]
    writer = SpecWriter(tmp_path)
    writer.add("meta", units[:2])
    writer.add("tiktok", units[2:])
    writer.write()
    assert [u.document["asset"] for u in units] == [ASSET_REF + "earlier.png", ASSET_REF + "b.png", ASSET_REF + "b.png"]
    assert sorted(p.name for p in (tmp_path / "assets" / "imported").iterdir()) == ["b.png", "earlier.png"]
