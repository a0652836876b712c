"""Policies as specs (issue 11): `kind: Policy` documents that gate a plan.

- document.py: the Policy document (loaded and checked by the spec loader like every kind);
- violations.py: Violation and Override, plain data kept in the plan file;
- evaluate.py: Plan + Spend + now -> violations, and the overrides a run asks for.

Kept light on purpose: spec/models.py imports document.py to register the kind,
so this package's __init__ must not import the planner (that would be circular).
"""
