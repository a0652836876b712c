"""The JSON Schema for editors matches the models and accepts the example specs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from reconciler.spec.loader import load_specs
from reconciler.spec.models import KIND_MODELS, TARGET_MODELS
from reconciler.spec.schema import json_schema

EXAMPLE_PROJECT = Path(__file__).resolve().parents[1]


def example_documents() -> list[dict[str, Any]]:
    """Each example document as written (unset defaults left out), in JSON types."""
    specs = load_specs(EXAMPLE_PROJECT)
    models = [
        *specs.targets.values(),
        *specs.advertisers.values(),
        *specs.zones.values(),
        *specs.creatives.values(),
        *specs.campaigns.values(),
        *specs.placements.values(),
    ]
    return [model.model_dump(mode="json", exclude_unset=True) for model in models]


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in refs(item)]
    return []


def definition_for(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    kind = document["kind"]
    if kind == "Target":
        return schema["$defs"][TARGET_MODELS[document["platform"]].__name__]
    return schema["$defs"][kind]


def test_schema_structure() -> None:
    schema = json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] and schema["description"]
    # chosen by `kind`: one if/then per kind, so a misspelled kind is one error (tests/test_docs.py)
    assert schema["properties"]["kind"]["enum"] == list(KIND_MODELS)
    assert [branch["if"]["properties"]["kind"]["const"] for branch in schema["allOf"]] == list(KIND_MODELS)
    assert [branch["then"]["$ref"] for branch in schema["allOf"]] == [f"#/$defs/{kind}" for kind in KIND_MODELS]
    for ref in refs(schema):
        assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in schema["$defs"], ref
    for kind in KIND_MODELS:
        assert schema["$defs"][kind]["description"]
    for kind, model in [*((k, m) for k, m in KIND_MODELS.items() if k != "Target"), *TARGET_MODELS.items()]:
        definition = schema["$defs"][model.__name__ if kind in TARGET_MODELS else kind]
        assert definition["additionalProperties"] is False
        assert definition["properties"]["kind"]["const"] == ("Target" if kind in TARGET_MODELS else kind)
        # fields are named as YAML spells them (Moved's `from_` is `from`)
        assert set(definition["properties"]) == {f.alias or name for name, f in model.model_fields.items()}


def test_schema_is_deterministic_and_json_serialisable() -> None:
    assert json.dumps(json_schema()) == json.dumps(json_schema())


def test_every_example_document_fits_its_definition() -> None:
    schema = json_schema()
    for document in example_documents():
        definition = definition_for(schema, document)
        properties = definition["properties"]
        assert set(document) <= set(properties), document
        assert set(definition.get("required", [])) <= set(document), document
        for key, value in document.items():
            if isinstance(value, str):
                options = properties[key].get("anyOf", [properties[key]])
                patterns = [o["pattern"] for o in options if "pattern" in o]
                assert not patterns or any(re.search(p, value) for p in patterns), (key, value)
                enums = [v for o in options for v in o.get("enum", [o.get("const")]) if v is not None]
                assert not enums or value in enums, (key, value)


def test_examples_validate_with_jsonschema_when_available() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    for document in example_documents():
        assert not list(validator.iter_errors(document)), document
    campaign = next(d for d in example_documents() if d["kind"] == "Campaign")
    assert list(validator.iter_errors({**campaign, "budjet": {}}))  # unknown field
    assert list(validator.iter_errors({**campaign, "name": "Not A Name"}))
    assert list(validator.iter_errors({"kind": "Target", "name": "t", "platform": "myspace"}))
