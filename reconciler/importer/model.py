"""What a platform's importer returns: spec documents to write, and the live objects behind them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from reconciler.providers.base import Listed

# Downloads an uploaded file's bytes from a URL the platform returned.
Fetch = Callable[[str], Awaitable[bytes]]


@dataclass
class Unit:
    """One spec document to write and the live objects it stands for.

    `ids` maps the address of every resource the compiler derives from this
    document (TARGET:TYPE/NAME) to the live object's platform id; a resource
    derived from two documents (a Meta ad: campaign with creative) may be in
    either's `ids`. `needs` names the other documents it references, as
    (kind, name), so that importing one brings what it cannot go without.
    `assets` are files to write under assets/imported/ (file name -> bytes);
    the document's `asset` field names them as `../../assets/imported/FILE`
    (see ASSET_DIR), relative to specs/imported/.
    """

    document: dict[str, Any]
    ids: dict[str, str] = field(default_factory=dict)
    objects: list[Listed] = field(default_factory=list)
    needs: list[tuple[str, str]] = field(default_factory=list)
    assets: dict[str, bytes] = field(default_factory=dict)
    comment: str = ""  # written above the document: where it came from, what was left out

    @property
    def key(self) -> tuple[str, str]:
        return str(self.document["kind"]), str(self.document["name"])


@dataclass(frozen=True)
class Skipped:
    """A live object the spec format cannot express; listed, never written."""

    target: str
    type: str
    id: str
    name: str
    reason: str

    def line(self) -> str:
        shown = f" {self.name!r}" if self.name else ""
        return f"{self.target}: {self.type}{shown} (id {self.id}) not imported: {self.reason}"


@dataclass
class Mapped:
    units: list[Unit] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


# Until each platform maps its pixel and event back to a spec: a conversions campaign is listed, not written.
CONVERSIONS_NOT_IMPORTED = (
    "a conversions campaign is not imported yet: its pixel and conversion event must be declared "
    "(declare it and adopt it with `reconciler state import`)"
)

# Where imported uploads are written, relative to the project, and how a spec under specs/imported/ names them.
ASSET_DIR = "assets/imported"
ASSET_REF = "../../assets/imported/"


class Names:
    """Spec names derived from platform names: slugified to the name pattern, unique per kind.

    Names the project's specs already declare are taken. Claim objects oldest
    first (by id) so that the oldest keeps the plain slug and later ones get
    `-2`, `-3`: a second import of the same account derives the same names.
    """

    def __init__(self, taken: Mapping[str, Iterable[str]]) -> None:
        self._taken: dict[str, set[str]] = {kind: set(names) for kind, names in taken.items()}

    def claim(self, kind: str, platform_name: str, fallback: str) -> str:
        """A free name of `kind` for `platform_name` (`fallback`, e.g. the type and id, when it has no letters)."""
        taken = self._taken.setdefault(kind, set())
        base = slugify(platform_name) or slugify(fallback)
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base[:120]}-{n}"
        taken.add(name)
        return name

    def is_free(self, kind: str, name: str) -> bool:
        return name not in self._taken.get(kind, set())


_NOT_NAME = re.compile(r"[^a-z0-9._-]+")


def slugify(text: str) -> str:
    """'Spring Sale (US) 2026' -> 'spring-sale-us-2026': lowercase ASCII, runs of other characters as '-'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = _NOT_NAME.sub("-", ascii_text).strip("-._")
    slug = re.sub(r"-{2,}", "-", slug)
    return slug[:120].rstrip("-._")


def is_spec_name(text: str) -> bool:
    """True when `text` is already a valid spec name (so a compile derives it unchanged)."""
    return bool(re.fullmatch(r"[a-z0-9][a-z0-9._-]*", text)) and len(text) <= 128


@dataclass(frozen=True)
class Account:
    """What a platform importer maps: one target's live objects, and what the project holds already.

    `target` is the spec's Target model (BroadstreetTarget, MetaTarget, ...). `listed` holds, per
    type, the live objects not yet recorded in the state; `recorded` maps (type, platform id) of
    objects the state already records to their resource name (the NAME of TARGET:TYPE/NAME), for
    references to them. `names` claims spec names; `fetch` downloads an uploaded file.
    """

    target: Any
    listed: Mapping[str, list[Listed]]
    recorded: Mapping[tuple[str, str], str]
    names: Names
    fetch: Fetch


class PlatformImporter(Protocol):
    """One platform's importer module (reconciler/importer/PLATFORM.py) offers these two names."""

    TYPES: tuple[str, ...]  # resource types listed with Provider.list_all, parents first

    async def map_objects(self, account: Account) -> Mapped:
        """Spec documents for the listed objects. Objects the spec format cannot express go to
        `skipped` with the reason; so do children of recorded objects, whose documents exist already."""
        ...
