"""Moved documents -> which recorded address each desired address takes over. No I/O.

A spec-level rename (Campaign/old -> Campaign/new) moves every resource derived
from that document. Compile derives names by joining document names with '.'
(ad C.K, placement C.K.Z), so a recorded address that is no longer desired is
renamed component by component; the result counts only when it is desired and
not recorded already, and when it is the only such candidate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from reconciler.model import RecordedResource, Rename, make_address, split_address

# The documents whose names make up a type's name (see spec/compile.py).
_DERIVED_KINDS: dict[str, frozenset[str]] = {
    **dict.fromkeys(("campaign", "adset", "adgroup", "adsquad"), frozenset({"Campaign"})),
    **dict.fromkeys(("advertisement", "adimage", "advideo", "image", "video", "media"), frozenset({"Creative"})),
    **dict.fromkeys(("adcreative", "ad", "creative"), frozenset({"Campaign", "Creative"})),
    "placement": frozenset({"Campaign", "Creative", "Zone", "Placement"}),
    "zone": frozenset({"Zone"}),
    "advertiser": frozenset({"Advertiser"}),
}


def resolve_moves(
    renames: Sequence[Rename], desired: Iterable[str], recorded: Mapping[str, RecordedResource]
) -> dict[str, str]:
    """new address -> the recorded address it takes over (its object and platform id)."""
    wanted = set(desired)
    moves: dict[str, str] = {}
    for rename in renames:
        if rename.kind is None and rename.old in recorded and rename.new not in recorded:
            moves[rename.new] = rename.old
    spec_renames = [r for r in renames if r.kind is not None]
    taken = set(moves.values())
    for address in sorted(recorded):
        if address in wanted or address in taken or "#" in address:
            continue
        target, type_, name = split_address(address)
        kinds = _DERIVED_KINDS.get(type_, frozenset())
        candidates = {
            new
            for new_name in _renamed(name, [r for r in spec_renames if r.kind in kinds])
            if (new := make_address(target, type_, new_name)) in wanted and new not in recorded and new not in moves
        }
        if len(candidates) == 1:
            moves[candidates.pop()] = address
    return moves


def _renamed(name: str, renames: Sequence[Rename]) -> set[str]:
    """Every name `name` can become by renaming whole '.'-separated runs of components."""
    names = {tuple(name.split("."))}
    for rename in renames:
        old, new = tuple(rename.old.split(".")), tuple(rename.new.split("."))
        for parts in list(names):
            for i in range(len(parts) - len(old) + 1):
                if parts[i : i + len(old)] == old:
                    names.add(parts[:i] + new + parts[i + len(old) :])
    names.discard(tuple(name.split(".")))
    return {".".join(parts) for parts in names}
