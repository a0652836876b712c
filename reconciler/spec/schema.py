"""JSON Schema of a spec document, for editors (`reconciler schema`, yaml-language-server).

Built from the pydantic models, so it cannot drift from what the loader accepts
per document. References between documents are not expressible here; `validate`
checks those.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from reconciler.spec.models import KIND_MODELS

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
    """One schema (draft 2020-12): a spec document is exactly one of the kinds."""
    defs: dict[str, Any] = {}
    for kind, model in KIND_MODELS.items():
        schema = TypeAdapter(model).json_schema(ref_template="#/$defs/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            if defs.setdefault(name, definition) != definition:
                raise RuntimeError(f"two different schemas are named {name}")  # a model naming bug
        schema["title"] = kind
        schema["description"] = KIND_DESCRIPTIONS[kind]
        defs[kind] = schema
    return {
        "$schema": DIALECT,
        "title": "reconciler spec document",
        "description": (
            "One YAML document under specs/. Every document has `kind` and `name` "
            "(lowercase letters, digits, '.', '_', '-'), optional `labels`, and its kind's fields."
        ),
        "oneOf": [{"$ref": f"#/$defs/{kind}"} for kind in KIND_MODELS],
        "$defs": dict(sorted(defs.items())),
    }
