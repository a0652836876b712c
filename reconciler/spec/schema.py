"""JSON Schema of a spec document, for editors (`reconciler schema`, yaml-language-server).

Built from the pydantic models, so it cannot drift from what the loader accepts
per document; every field's description is the docstring under it in the model.
References between documents are not expressible here; `validate` checks those.
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import sys
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from reconciler.spec.models import KIND_MODELS, TARGET_MODELS

DIALECT = "https://json-schema.org/draft/2020-12/schema"
KIND_DESCRIPTIONS = {
    "Target": "Where things are published: a Broadstreet network or a Meta, TikTok or Snapchat ad account.",
    "Advertiser": "A brand whose campaigns run; created on Broadstreet targets.",
    "Zone": "A Broadstreet ad slot on a site (Broadstreet targets only).",
    "Creative": "An ad: an image, video, HTML or text with its click URL.",
    "Campaign": "Creatives run for an advertiser on one or more targets, with dates, budget and audience.",
    "Placement": "A creative of a campaign shown in a Broadstreet zone.",
    "Policy": "A gate on plans: budget ceilings, freeze windows, protected addresses; hard or soft.",
    "Moved": "A rename (no `name`): what is recorded under `from` now lives under `to`, keeping its platform ids.",
}


def json_schema() -> dict[str, Any]:
    """One schema (draft 2020-12): a spec document is exactly one of the kinds, chosen by its `kind`."""
    defs: dict[str, Any] = {}
    for kind, model in KIND_MODELS.items():
        schema = TypeAdapter(model).json_schema(ref_template="#/$defs/{model}", schema_generator=_Described)
        for name, definition in schema.pop("$defs", {}).items():
            if defs.setdefault(name, definition) != definition:
                raise RuntimeError(f"two different schemas are named {name}")  # a model naming bug
        defs[kind] = schema
    # pydantic's `discriminator` is OpenAPI's, which JSON Schema validators ignore: without the
    # if/then below, a misspelled platform would fail every branch of its oneOf, one error each.
    platforms = {platform: model.__name__ for platform, model in TARGET_MODELS.items()}
    defs["Target"] = {
        "type": "object",
        **_chosen_by("platform", platforms, defs["BroadstreetTarget"]["properties"]["platform"]["description"]),
    }
    for kind in KIND_MODELS:
        defs[kind] |= {"title": kind, "description": KIND_DESCRIPTIONS[kind]}
    return {
        "$schema": DIALECT,
        "title": "reconciler spec document",
        "description": (
            "One YAML document under specs/. Every document has `kind` and `name` "
            "(lowercase letters, digits, '.', '_', '-'), optional `labels`, and its kind's fields."
        ),
        "type": "object",
        **_chosen_by("kind", {kind: kind for kind in KIND_MODELS}, "What this document declares."),
        "$defs": dict(sorted(defs.items())),
    }


def _chosen_by(key: str, definitions: dict[str, str], description: str) -> dict[str, Any]:
    """`key` names which definition the object must match: an unknown value is one error, on `key`.

    An if/then per value rather than a oneOf, so that validators and editors report the
    misspelled value itself instead of every definition it failed.
    """
    return {
        "required": [key],
        "properties": {key: {"enum": list(definitions), "description": description}},
        "allOf": [
            {
                "if": {"properties": {key: {"const": value}}, "required": [key]},
                "then": {"$ref": f"#/$defs/{definition}"},
            }
            for value, definition in definitions.items()
        ],
    }


class _Described(GenerateJsonSchema):
    """pydantic's schema, each field described by the docstring under it in its model.

    Read here rather than by pydantic's use_attribute_docstrings, which re-reads the source of
    every model class at import: some 20 ms on each start of every command.
    """

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        json_schema = super().model_schema(schema)
        model = schema["cls"]
        docstrings = _field_docstrings(model)
        for name, field in model.model_fields.items():
            described = json_schema.get("properties", {}).get(field.alias or name)
            if described is not None and name in docstrings:
                described.setdefault("description", docstrings[name])  # a Field(description=...) wins
        return json_schema


def _field_docstrings(model: type[BaseModel]) -> dict[str, str]:
    """{field: the string literal right after its annotation}, for `model` and the models it extends."""
    found: dict[str, str] = {}
    for cls in reversed(model.__mro__):
        ours = issubclass(cls, BaseModel) and cls is not BaseModel
        node = _classes(cls.__module__).get(cls.__qualname__) if ours else None
        for statement, after in itertools.pairwise(node.body) if node else ():
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and isinstance(after, ast.Expr)
                and isinstance(after.value, ast.Constant)
                and isinstance(after.value.value, str)
            ):
                found[statement.target.id] = " ".join(after.value.value.split())
    return found


@functools.cache
def _classes(module: str) -> dict[str, ast.ClassDef]:
    """The top-level classes of a module, by name (models are top-level)."""
    tree = ast.parse(inspect.getsource(sys.modules[module]))
    return {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
