"""docs/ and the JSON Schema cannot drift apart: each documents exactly what the other has.

The docs mark their field tables with `<!-- fields: DEF... -->` (the schema definitions the
table documents: `Campaign`, `MetaTarget`...) and their platform tables with
`<!-- platforms: DEF -->`. A row's first cell is the field as YAML spells it (`budget.daily`,
`freeze[].from`), its third the default. Every ```yaml example on the pages is a spec: together
they are one project, which must load and compile; `# specs/PATH` on a block's first line puts
it at that path.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from reconciler.spec.compile import compile_specs
from reconciler.spec.loader import load_specs
from reconciler.spec.models import KIND_MODELS
from reconciler.spec.schema import json_schema

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = {path.name: path.read_text(encoding="utf-8") for path in sorted(DOCS.glob("*.md"))}
BIN = Path(sys.executable).parent  # check-jsonschema comes with the test extras

_TABLE = re.compile(r"^<!-- (fields|platforms): ([A-Za-z ]+) -->\n((?:\|.*\n?)+)", re.MULTILINE)
_YAML_BLOCK = re.compile(r"^```yaml\n(.*?)^```", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"\]\(([^)\s]+)\)")


@dataclass(frozen=True)
class Row:
    page: str
    definitions: tuple[str, ...]
    cells: tuple[str, ...]

    @property
    def field(self) -> str:
        match = re.fullmatch(r"`([^`]+)`", self.cells[0])
        assert match, f"{self.page}: a field table's first cell is a `field`, not {self.cells[0]!r}"
        return match.group(1)


def tables(kind: str) -> list[list[Row]]:
    """The marked tables of one kind ("fields" or "platforms"), each as its rows after the header."""
    found = []
    for page, text in PAGES.items():
        for match in _TABLE.finditer(text):
            if match.group(1) != kind:
                continue
            definitions = tuple(match.group(2).split())
            lines = match.group(3).strip().splitlines()
            header = _cells(lines[0])
            rows = [Row(page, definitions, _cells(line)) for line in lines[2:]]
            for row in rows:
                assert len(row.cells) == len(header), f"{page}: row {row.cells[0]} has a wrong number of cells"
            found.append(rows)
    return found


def _cells(line: str) -> tuple[str, ...]:
    return tuple(cell.strip() for cell in line.strip().strip("|").split("|"))


def document_definitions(schema: dict[str, Any]) -> list[str]:
    """The definitions a document can be (a Target: one per platform), as the schema chooses them."""
    names = []
    for branch in schema["allOf"]:
        name = branch["then"]["$ref"].removeprefix("#/$defs/")
        definition = schema["$defs"][name]
        names += document_definitions(definition | {"$defs": schema["$defs"]}) if "allOf" in definition else [name]
    return names


def schema_fields(schema: dict[str, Any], definition: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Every field of a definition, nested objects included, as dotted path -> (its schema, required)."""
    fields: dict[str, Any] = {}
    for name, prop in definition["properties"].items():
        path = prefix + name
        fields[path] = (prop, name in definition.get("required", []))
        nested = _object(schema, prop)
        if nested is not None:
            fields |= schema_fields(schema, nested, path + ".")
        items = _object(schema, prop.get("items", {}))
        if items is not None:
            fields |= schema_fields(schema, items, path + "[].")
    return fields


def _object(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any] | None:
    """The object definition `node` is (through a $ref, or the one non-null branch of an anyOf)."""
    branches = [b for b in node.get("anyOf", [node]) if b.get("type") != "null"]
    if len(branches) != 1 or "$ref" not in branches[0]:
        return None
    definition = schema["$defs"][branches[0]["$ref"].removeprefix("#/$defs/")]
    return definition if "properties" in definition else None


def shown_default(prop: dict[str, Any], required: bool) -> str | None:
    """How the docs write a field's default; None where they describe it in words (an object's)."""
    if required:
        return "required"
    value = prop.get("default")
    if value is None:
        return "—"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, dict | list) and value:
        return None
    return f"`{json.dumps(value) if value in ('', [], {}) else value}`"


def test_every_schema_field_is_documented_once_and_every_documented_field_exists() -> None:
    schema = json_schema()
    documented: dict[str, Counter[str]] = {}
    for rows in tables("fields"):
        for row in rows:
            for definition in row.definitions:
                assert definition in schema["$defs"], f"{row.page}: no schema definition {definition}"
                documented.setdefault(definition, Counter())[row.field] += 1
    definitions = document_definitions(schema)
    assert sorted(documented) == sorted(definitions)
    for name in definitions:
        fields = schema_fields(schema, schema["$defs"][name])
        assert set(documented[name]) - set(fields) == set(), f"{name}: documented, not in the schema"
        assert set(fields) - set(documented[name]) == set(), f"{name}: in the schema, not documented"
        assert [f for f, n in documented[name].items() if n > 1] == [], f"{name}: documented twice"


def test_documented_defaults_and_required_fields_match_the_schema() -> None:
    schema = json_schema()
    wrong = []
    for rows in tables("fields"):
        for row in rows:
            for name in row.definitions:
                prop, required = schema_fields(schema, schema["$defs"][name]).get(row.field, ({}, False))
                expected = shown_default(prop, required)
                if expected is not None and row.cells[2] != expected:
                    wrong.append(f"{row.page}: {name}.{row.field}: default {row.cells[2]}, not {expected}")
    assert wrong == []


def test_platform_tables_name_fields_of_their_kind() -> None:
    schema = json_schema()
    found = tables("platforms")
    assert found, "no platform tables"
    unknown = [
        f"{row.page}: {name}.{row.field}"
        for rows in found
        for row in rows
        for name in row.definitions
        if row.field not in schema_fields(schema, schema["$defs"][name])
    ]
    assert unknown == []


def test_every_kind_has_its_page_and_every_description_is_filled() -> None:
    for kind in KIND_MODELS:
        assert any(re.search(rf"^# {kind}$", text, re.MULTILINE) for text in PAGES.values()), kind
    schema = json_schema()
    assert schema["properties"]["kind"]["description"]
    for name, definition in schema["$defs"].items():
        assert definition.get("description", "").strip(), f"{name} has no description"
        for field, prop in definition.get("properties", {}).items():
            assert prop.get("description", "").strip(), f"{name}.{field} has no description"


def test_links_stay_inside_the_repository_and_reach_their_headings() -> None:
    for page, text in PAGES.items():
        _check_links(page, text, DOCS, DOCS / page)


def _check_links(page: str, text: str, base: Path, itself: Path) -> None:
    """Every relative link of `text` names a file of the repository and, with #anchor, one of its headings."""
    for target in _LINK.findall(text):
        if re.match(r"https?://", target):
            continue
        path, _, anchor = target.partition("#")
        file = (base / path).resolve() if path else itself
        assert file.is_relative_to(ROOT) and file.is_file(), f"{page}: link to {target}"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", file.read_text(encoding="utf-8"), re.MULTILINE)
            assert anchor in {_slug(h) for h in headings}, f"{page}: no heading for #{anchor}"


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def example_files() -> dict[str, str]:
    """Every YAML example of the docs as a spec file: path under the project -> text."""
    files = {}
    for page, text in PAGES.items():
        for index, block in enumerate(_YAML_BLOCK.findall(text)):
            named = re.match(r"# (specs/\S+)\n", block)
            path = named.group(1) if named else f"specs/{page.removesuffix('.md')}-{index}.yaml"
            assert path not in files, f"{page}: two examples at {path}"
            files[path] = block
    return files


def test_the_examples_are_one_valid_project(tmp_path: Path) -> None:
    files = example_files()
    for path, text in files.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
        if not path.endswith(".j2"):
            for document in yaml.safe_load_all(text):
                if isinstance(document, dict) and "asset" in document:
                    asset = tmp_path / Path(path).parent / document["asset"]
                    asset.parent.mkdir(parents=True, exist_ok=True)
                    asset.write_bytes(document["name"].encode())
    compiled = compile_specs(load_specs(tmp_path))  # a SpecError names each problem's file and line
    kinds = {kind for path in files for kind in re.findall(r"^kind: (\w+)", files[path], re.MULTILINE)}
    assert kinds == set(KIND_MODELS)
    assert {t.platform for t in compiled.targets.values()} == {"broadstreet", "meta", "tiktok", "snapchat"}


def test_the_examples_validate_against_the_schema() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    for path, text in example_files().items():
        if path.endswith(".j2") or path.endswith("/vars.yaml"):
            continue
        for document in yaml.safe_load_all(text):
            as_json = json.loads(json.dumps(document, default=str))  # dates as YAML text
            assert [e.message for e in validator.iter_errors(as_json)] == [], path


@pytest.fixture(scope="module")
def schema_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What `reconciler schema` prints, as an editor would be given it."""
    path = tmp_path_factory.mktemp("schema") / "schema.json"
    command = [sys.executable, "-m", "reconciler", "schema"]
    path.write_text(subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout)
    return path


@pytest.mark.parametrize(
    ("document", "error"),
    [
        ("kind: Campain\nname: x\nadvertiser: acme\n", "$.kind: 'Campain' is not one of ['Target', 'Advertiser'"),
        ("kind: Target\nname: x\nplatform: metta\n", "$.platform: 'metta' is not one of ['broadstreet', 'meta'"),
    ],
)
def test_a_misspelled_kind_is_one_clear_error(tmp_path: Path, schema_file: Path, document: str, error: str) -> None:
    (tmp_path / "spec.yaml").write_text(document)
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--schemafile", str(schema_file), str(tmp_path / "spec.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    errors = [line for line in result.stdout.splitlines() if "spec.yaml::" in line]
    assert len(errors) == 1 and error in errors[0], result.stdout


def test_the_readme_points_into_the_repository_only() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in readme and "DESIGN.md" not in readme  # a handout readers do not have
    _check_links("README.md", readme, ROOT, ROOT / "README.md")
