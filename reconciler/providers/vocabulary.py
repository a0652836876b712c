"""Read a platform object back into our attribute vocabulary, so comparing shows real drift only."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

Normalise = Callable[[str, Any, Any], Any]  # (key, platform value, expected value) -> our value


def as_recorded(
    obj: Mapping[str, Any],
    expected: Mapping[str, Any],
    *,
    base_keys: Iterable[str],
    normalise: Normalise,
    carried: Collection[str] = (),
    renamed: Mapping[str, str] | None = None,
    missing_is_unset: bool = False,
) -> dict[str, Any]:
    """The type's base keys plus those of `expected` (what was applied or recorded), valued from `obj`
    and shaped like `expected` by `normalise`.

    `carried` keys are ours, never sent (asset hash, currency): they keep their expected value.
    `renamed` maps our key to the platform's where they differ. A key the platform leaves out keeps
    its expected value, unless `missing_is_unset` (Graph omits unset fields, so absent means unset).
    """
    renamed = renamed or {}
    out: dict[str, Any] = {}
    for key in dict.fromkeys((*base_keys, *expected)):
        platform_key = renamed.get(key, key)
        present = platform_key in obj and not (missing_is_unset and obj[platform_key] is None)
        if key not in carried and present:
            out[key] = normalise(key, obj[platform_key], expected.get(key))
        elif key in expected and (key in carried or not missing_is_unset):
            out[key] = expected[key]
    return out
