"""IANA time zone names, checked one way for specs, policies and the sandbox's control API."""

from __future__ import annotations

import zoneinfo


def is_time_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def check_time_zone(value: str) -> str:
    """`value`, if it names an IANA time zone; a ValueError that says what to write otherwise."""
    if not is_time_zone(value):
        raise ValueError(f"`{value}` is not an IANA time zone name (e.g. UTC, America/Los_Angeles, Europe/Berlin)")
    return value
