"""Write imported documents and their files into the project, all or nothing.

Specs go to specs/imported/TARGET.yaml (or one --out file), appended after
what an earlier import wrote; downloaded uploads to assets/imported/, never
over a different file of the same name. `undo()` puts every file back as it
was, for when the written specs turn out not to compile.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

from reconciler.errors import ReconcilerError
from reconciler.files import read_regular_file, write_new_bytes, write_text
from reconciler.importer.model import ASSET_DIR, ASSET_REF, Unit


class _Dumper(yaml.SafeDumper):
    """Block style, keys in the order the importer gives them; Decimal as a number."""


_Dumper.add_representer(Decimal, lambda dumper, value: dumper.represent_float(float(value)))


def dump_document(document: dict[str, Any], comment: str = "") -> str:
    text = yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=110)
    header = "".join(f"# {line}\n".replace("# \n", "#\n") for line in comment.splitlines())
    return header + text


class SpecWriter:
    def __init__(self, directory: Path, out: Path | None = None) -> None:
        self.directory = directory
        self.out = out
        self._documents: dict[Path, list[str]] = {}
        self._assets: dict[Path, bytes] = {}
        self._written: list[tuple[Path, str | None]] = []  # (path, text before: None when it was new)
        self._by_content: dict[str, Path] | None = None  # sha256 -> file under assets/imported/

    @property
    def pending(self) -> bool:
        return bool(self._documents)

    def spec_file(self, target: str) -> Path:
        return self.out if self.out is not None else self.directory / "specs" / "imported" / f"{target}.yaml"

    def add(self, target: str, units: list[Unit]) -> None:
        path = self.spec_file(target)
        for unit in units:
            for name, data in unit.assets.items():
                final = self._asset_path(name, data)
                if final.name != name and unit.document.get("asset") == ASSET_REF + name:
                    unit.document["asset"] = ASSET_REF + final.name
                self._assets[final] = data
            self._documents.setdefault(path, []).append(dump_document(unit.document, unit.comment))

    def write(self) -> list[Path]:
        """Write everything added; returns the files written, relative to the project where inside it."""
        try:
            for path, data in self._assets.items():
                if path.exists():
                    continue  # the same bytes are there already
                path.parent.mkdir(parents=True, exist_ok=True)
                write_new_bytes(path, data, "imported file")
                self._written.append((path, None))
            for path, documents in self._documents.items():
                before = _text_of(path)
                stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
                head = f"# Imported by `reconciler import` on {stamp}. Edit freely: it is a spec like any other.\n"
                body = head + "---\n".join(documents)
                text = body if not before else before.rstrip("\n") + "\n---\n" + body
                path.parent.mkdir(parents=True, exist_ok=True)
                write_text(path, text, "imported specs")
                self._written.append((path, before))
        except ReconcilerError:
            self.undo()
            raise
        return [self._shown(path) for path, _ in self._written]

    def undo(self) -> None:
        for path, before in reversed(self._written):
            with contextlib.suppress(OSError, ReconcilerError):
                if before is None:
                    path.unlink()
                else:
                    write_text(path, before, "imported specs")
        self._written.clear()

    def _asset_path(self, name: str, data: bytes) -> Path:
        """A file of assets/imported/ holding these bytes already (the same image on two targets is
        one file), else NAME, or NAME-2, NAME-3... when another file holds that name."""
        folder = self.directory / ASSET_DIR
        digest = hashlib.sha256(data).hexdigest()
        if self._by_content is None:
            files = sorted(folder.iterdir()) if folder.is_dir() else []
            self._by_content = {hashlib.sha256(b).hexdigest(): f for f in files if (b := _bytes_of(f)) is not None}
        if digest in self._by_content:
            return self._by_content[digest]
        stem, dot, suffix = name.partition(".")
        candidate, n = folder / name, 1
        while candidate.exists() or candidate in self._assets:
            n += 1
            candidate = folder / f"{stem}-{n}{dot}{suffix}"
        self._by_content[digest] = candidate
        return candidate

    def _shown(self, path: Path) -> Path:
        try:
            return path.relative_to(self.directory)
        except ValueError:
            return path


def _text_of(path: Path) -> str | None:
    try:
        return read_regular_file(path).decode("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReconcilerError(f"{path}: cannot add imported specs to it: {exc}") from None


def _bytes_of(path: Path) -> bytes | None:
    try:
        return read_regular_file(path)
    except OSError:
        return None
