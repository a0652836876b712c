"""User-facing errors.

Anything raised as a ReconcilerError is shown to the user as a message and
exit code 1, never as a traceback. Spec problems are collected as SpecIssue
values so that one run reports all of them together.
"""

from __future__ import annotations

from dataclasses import dataclass


class ReconcilerError(Exception):
    """An error the user can act on; the CLI prints it and exits 1."""


@dataclass(frozen=True)
class SpecIssue:
    """One problem in the specs, located as precisely as we can."""

    file: str  # path relative to the project directory
    line: int  # 1-based; 0 when unknown
    field: str  # dotted path inside the document, e.g. "budget.daily"; "" for the whole document
    message: str  # what is wrong and how to fix it

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class SpecError(ReconcilerError):
    """One or more problems in the specs."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.file, i.line, i.field))
        count = len(self.issues)
        lines = [f"{count} problem{'s' if count != 1 else ''} in the specs:"]
        lines += [f"  {issue}" for issue in self.issues]
        super().__init__("\n".join(lines))
