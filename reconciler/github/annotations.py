"""GitHub Actions workflow commands, so spec errors show inline on the pull request diff."""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.errors import SpecIssue


def in_github_actions(environ: Mapping[str, str]) -> bool:
    """True when running as a GitHub Actions step (GitHub sets GITHUB_ACTIONS=true)."""
    return environ.get("GITHUB_ACTIONS") == "true"


def format_annotation(issue: SpecIssue) -> str:
    """`::error file=...,line=...,title=...::message` for one spec issue."""
    properties = {"file": issue.file}
    if issue.line:
        properties["line"] = str(issue.line)
    properties["title"] = f"Spec error in {issue.field}" if issue.field else "Spec error"
    joined = ",".join(f"{key}={_escape_property(value)}" for key, value in properties.items())
    return f"::error {joined}::{_escape_data(issue.message)}"


def _escape_data(value: str) -> str:
    # The runner's own escaping (toolkit/packages/core/src/command.ts): '%' first, then line breaks.
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")
