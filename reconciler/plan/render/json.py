"""The plan as JSON: the plan file format (DESIGN.md section 4), for `plan --format json` and `--out`."""

from __future__ import annotations

import json

from reconciler.model import Plan
from reconciler.plan.planfile import plan_to_json


def render_json(plan: Plan) -> str:
    """Two-space indented JSON with sorted keys (changes keep plan order) and a trailing newline."""
    return json.dumps(plan_to_json(plan), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
