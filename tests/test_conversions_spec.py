"""objective: conversions needs an event to optimise for and, on each ad platform target, a pixel."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.spec.compile import compile_specs
from reconciler.spec.loader import load_specs


def issues(project: Path) -> list:
    with pytest.raises(SpecError) as error:
        compile_specs(load_specs(project))
    return error.value.issues


def edit(project: Path, *pairs: tuple[str, str]) -> None:
    spec = project / "specs" / "main.yaml"
    text = spec.read_text()
    for old, new in pairs:
        assert old in text
        text = text.replace(old, new)
    spec.write_text(text)


def test_conversions_without_an_event_or_pixels_names_each_missing_piece(project: Path) -> None:
    edit(project, ("objective: traffic", "objective: conversions"))
    found = issues(project)
    events = [i for i in found if i.field == "conversion_event"]
    pixels = [i for i in found if i.field == "targets"]
    assert events and all("add e.g. conversion_event: PURCHASE" in i.message for i in events)
    needing = {
        t
        for t in ("meta-us", "tiktok-us", "snap-us")
        if any(f"target {t} needs its pixel" in i.message for i in pixels)
    }
    assert needing == {"meta-us", "tiktok-us", "snap-us"}
    assert all(i.file == "specs/main.yaml" and i.line > 0 for i in found)


def test_an_event_on_another_objective_is_refused(project: Path) -> None:
    edit(project, ("objective: traffic", "objective: traffic\nconversion_event: PURCHASE"))
    found = issues(project)
    assert any(i.field == "conversion_event" and "only a campaign with objective: conversions" in i.message
               for i in found)  # fmt: skip


def test_an_unknown_event_is_refused_with_the_known_ones(project: Path) -> None:
    edit(project, ("objective: traffic", "objective: conversions\nconversion_event: BUY_NOW"))
    found = issues(project)
    assert any(i.field == "conversion_event" and "PURCHASE" in i.message for i in found)
