"""Plan renderers: text for terminals, markdown for pull-request comments, JSON for plan files."""

from reconciler.plan.render.json import render_json
from reconciler.plan.render.markdown import render_markdown
from reconciler.plan.render.text import render_text

__all__ = ["render_json", "render_markdown", "render_text"]
