"""Flights are days in the ad account's time zone: the Target's `timezone`, converted to each API's form."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import SpecError
from reconciler.spec.compile import compile_specs
from reconciler.spec.loader import load_specs


def with_time_zone(project: Path, zone: str) -> dict:
    """The compiled attributes by address, every ad platform target in `zone` (campaign June 1 - August 31)."""
    spec = project / "specs" / "main.yaml"
    text = spec.read_text()
    for platform in ("meta", "tiktok", "snapchat"):
        text = text.replace(f"platform: {platform}\n", f"platform: {platform}\ntimezone: {zone}\n", 1)
    spec.write_text(text)
    return {r.address: r.attributes for r in compile_specs(load_specs(project)).resources}


def test_utc_is_the_default_and_keeps_the_times_as_they_were(project: Path) -> None:
    resources = {r.address: r.attributes for r in compile_specs(load_specs(project)).resources}
    assert resources["meta-us:adset/summer"]["start_time"] == "2026-06-01T00:00:00+0000"
    assert resources["meta-us:adset/summer"]["end_time"] == "2026-08-31T23:59:59+0000"
    assert resources["tiktok-us:adgroup/summer"]["schedule_start_time"] == "2026-06-01 00:00:00"
    assert resources["snap-us:adsquad/summer"]["end_time"] == "2026-08-31T23:59:59.000Z"


def test_a_day_west_of_utc_starts_and_ends_later_in_utc(project: Path) -> None:
    resources = with_time_zone(project, "America/Los_Angeles")  # UTC-7 in summer
    adset = resources["meta-us:adset/summer"]
    assert (adset["start_time"], adset["end_time"]) == ("2026-06-01T00:00:00-0700", "2026-08-31T23:59:59-0700")
    adgroup = resources["tiktok-us:adgroup/summer"]  # UTC+0 strings
    assert (adgroup["schedule_start_time"], adgroup["schedule_end_time"]) == (
        "2026-06-01 07:00:00",
        "2026-09-01 06:59:59",
    )
    squad = resources["snap-us:adsquad/summer"]
    assert (squad["start_time"], squad["end_time"]) == ("2026-06-01T07:00:00.000Z", "2026-09-01T06:59:59.000Z")
    assert resources["snap-us:campaign/summer"]["start_time"] == "2026-06-01T07:00:00.000Z"
    assert resources["bs-main:campaign/summer"]["start_date"] == "2026-06-01"  # Broadstreet keeps plain dates


def test_a_day_east_of_utc_starts_the_evening_before_in_utc(project: Path) -> None:
    resources = with_time_zone(project, "Asia/Tokyo")  # UTC+9, no daylight saving
    assert resources["meta-us:adset/summer"]["start_time"] == "2026-06-01T00:00:00+0900"
    assert resources["tiktok-us:adgroup/summer"]["schedule_start_time"] == "2026-05-31 15:00:00"
    assert resources["snap-us:adsquad/summer"]["end_time"] == "2026-08-31T14:59:59.000Z"


def test_daylight_saving_is_that_of_each_day(project: Path) -> None:
    spec = project / "specs" / "main.yaml"
    spec.write_text(spec.read_text().replace("start_date: 2026-06-01", "start_date: 2026-01-15"))
    resources = with_time_zone(project, "America/Los_Angeles")
    adset = resources["meta-us:adset/summer"]
    assert adset["start_time"] == "2026-01-15T00:00:00-0800"  # standard time in January
    assert adset["end_time"] == "2026-08-31T23:59:59-0700"  # daylight time in August


def test_a_time_zone_that_does_not_exist_is_a_spec_error(project: Path) -> None:
    with pytest.raises(SpecError) as error:
        with_time_zone(project, "Mars/Olympus_Mons")
    issues = [i for i in error.value.issues if i.field == "timezone"]
    assert len(issues) == 3 and all(i.file == "specs/main.yaml" and i.line > 0 for i in issues)
    assert "not an IANA time zone name" in issues[0].message
