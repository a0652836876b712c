"""Find spec files, render templates in a sandbox, parse YAML keeping line numbers, validate.

`load_specs` is the only entry point. Every problem found on the way becomes a
SpecIssue (file, line, field, how to fix); all of them are raised together as
one SpecError at the end, so a user fixes a whole run's worth at once.
"""

from __future__ import annotations

import difflib
import gc
import os
import re
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import yaml
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from pydantic import BaseModel, TypeAdapter, ValidationError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.errors import ReconcilerError, SpecError, SpecIssue
from reconciler.files import read_text
from reconciler.spec import Source, SpecSet
from reconciler.spec.files import (
    MAX_SPEC_BYTES,
    SIZE_LIMIT,
    FileRefused,
    find_spec_files,
    read_spec_bytes,
    regular_file,
)
from reconciler.spec.models import KIND_MODELS, NAME_PATTERN, TARGET_MODELS
from reconciler.spec.validate import check_references, check_unique

SPEC_SUFFIXES = (".yaml", ".yml", ".yaml.j2", ".yml.j2")
VARS_FILE = "vars.yaml"
VAR_HINT = "define it in specs/vars.yaml or pass --var {name}=VALUE"
ALIAS_ALLOWANCE = 1_000_000  # values that YAML aliases may add to a file, beyond one per character

# The C composer is several times faster; construction below is ours either way.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ADAPTERS = {kind: TypeAdapter(model) for kind, model in KIND_MODELS.items()}
_SPEC_SET_FIELDS = {
    "Target": "targets",
    "Advertiser": "advertisers",
    "Zone": "zones",
    "Creative": "creatives",
    "Campaign": "campaigns",
    "Placement": "placements",
    "Moved": "moves",
    "Policy": "policies",
}

FieldLines = dict[str, int]  # dotted field path ("budget.daily", "targets.1") -> 1-based line


@dataclass
class _Document:
    file: Path  # absolute path of the file that declared it
    rel: str  # that file relative to the project directory, POSIX
    line: int  # line of the document's first key
    data: Any
    lines: FieldLines


def load_specs(project_dir: Path, variables: Mapping[str, Any] | None = None) -> SpecSet:
    """Load and validate every spec under `project_dir/specs/`; raise SpecError listing all problems.

    `variables` (the command line's: --var-file, then --var over them) override those in `specs/vars.yaml`.
    """
    # Loading creates hundreds of thousands of small objects that all live until the end; the
    # cyclic collector would rescan them over and over (about 40% of the time for 50k documents).
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _load(Path(project_dir).resolve(), variables or {})
    finally:
        if gc_was_enabled:
            gc.enable()


def _load(project_dir: Path, variables: Mapping[str, Any]) -> SpecSet:
    specs_dir = project_dir / "specs"
    if not specs_dir.is_dir():
        raise SpecError([SpecIssue("specs", 0, "", f"no specs/ directory in {project_dir}; create it")])

    issues: list[SpecIssue] = []
    reader = _Reader(project_dir, issues)
    renderer = _Renderer({**reader.read_vars(specs_dir / VARS_FILE), **variables}, issues)

    validated: list[tuple[str, str, BaseModel, Source, _Document]] = []
    invalid: set[tuple[str, str]] = set()  # (kind, name) of documents that failed their own checks
    for path in _spec_files(project_dir, specs_dir, reader):
        rel = path.relative_to(project_dir).as_posix()
        text = reader.read_text(path, rel)
        if text is not None and path.suffix == ".j2":
            text = renderer.render(text, rel)
        if text is None:
            continue
        for doc in reader.documents(text, path, rel):
            checked = _validate(doc, issues)
            if checked is not None:
                validated.append((*checked, Source(rel, doc.line), doc))
            elif isinstance(doc.data, dict) and isinstance(doc.data.get("name"), str):
                invalid.add((str(doc.data.get("kind")), doc.data["name"]))

    issues += check_unique((kind, name, source) for kind, name, _, source, _ in validated)
    specs = SpecSet()
    field_lines: dict[tuple[str, str], FieldLines] = {}
    for kind, name, model, source, doc in validated:
        if (kind, name) in specs.sources:
            continue  # a duplicate, reported above; the first one stays
        getattr(specs, _SPEC_SET_FIELDS[kind])[name] = model
        specs.sources[(kind, name)] = source
        field_lines[(kind, name)] = doc.lines
        asset = getattr(model, "asset", None) if kind == "Creative" else None
        if asset is not None:
            try:
                specs.asset_paths[name] = regular_file(project_dir, doc.file.parent / asset)
            except FileRefused as refused:
                line = doc.lines.get("asset", doc.line)
                issues.append(SpecIssue(doc.rel, line, "asset", f"asset file `{asset}` {refused.reason}"))
    issues += check_references(specs, field_lines, invalid)
    if issues:
        raise SpecError(issues)
    return specs


def _spec_files(project_dir: Path, specs_dir: Path, reader: _Reader) -> list[Path]:
    """Spec files in a stable order (not vars.yaml); directories that may not be read are reported."""
    found, refused = find_spec_files(project_dir, specs_dir, SPEC_SUFFIXES)
    for problem in refused:
        reader.refused(problem, "this directory")
    return [path for path in found if path != specs_dir / VARS_FILE]


def read_var_file(path: Path) -> dict[str, Any]:
    """The variables of `--var-file FILE`: one YAML mapping, read by the rules of specs/vars.yaml.

    FILE is the user's own command-line path, so it may be anywhere (as Terraform's -var-file),
    but it must be a regular file. Every problem is in the one-line ReconcilerError, with its line.
    """
    text = read_text(path, "var file")
    issues: list[SpecIssue] = []
    variables = _Reader(path.parent, issues).mapping(text, path, str(path), "a var file")
    if issues:
        raise ReconcilerError("; ".join(str(issue) for issue in sorted(issues, key=lambda i: i.line)))
    return variables


def var_value(text: str) -> Any:
    """The value of `--var NAME=VALUE`: one YAML scalar, read as the values of specs/vars.yaml are.

    `7` is an integer, `true` a boolean, and so is `NO` (YAML 1.1, as in specs); `'007'` is
    text, and so is an empty VALUE. Anything else raises ValueError saying what it is: a list
    or a mapping, a tag, an anchor or alias, a YAML syntax error, or a comment (`#ff0000`),
    which YAML would silently drop.
    """
    if not text.strip():
        return text
    try:
        nodes = [event for event in yaml.parse(text, Loader=_YAML_LOADER) if isinstance(event, yaml.NodeEvent)]
    except yaml.YAMLError as exc:
        raise ValueError(f"not a valid YAML value ({getattr(exc, 'problem', None) or exc})") from None
    if not nodes:
        raise ValueError(f"`{text.strip()}` is a YAML comment, which would be dropped")
    event = nodes[0]
    if len(nodes) > 1 or type(event) is not yaml.ScalarEvent:
        what = "an alias" if type(event) is yaml.AliasEvent else "a list, a mapping or several values"
        raise ValueError(f"must be one value (text, number, true/false), not {what}")
    if event.tag is not None or event.anchor is not None:
        raise ValueError("YAML tags (!) and anchors (&) are not allowed here")
    rest = text[event.end_mark.index :].strip()
    if rest:
        raise ValueError(f"`{rest}` after the value would be dropped as a YAML comment")
    try:
        return _Converter(ALIAS_ALLOWANCE).value(yaml.compose(text, Loader=_YAML_LOADER), "")
    except _NodeError as exc:
        raise ValueError(exc.message) from None


# ---------------------------------------------------------------- reading and YAML


class _NodeError(Exception):
    def __init__(self, line: int, field: str, message: str) -> None:
        super().__init__(message)
        self.line, self.field, self.message = line, field, message


_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_SCALAR_CONSTRUCTORS = {
    tag: SafeConstructor.yaml_constructors[tag]
    for tag in (_NULL, "tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
}


class _Reader:
    """Reads spec files and splits them into documents; problems go to `issues`."""

    def __init__(self, project_dir: Path, issues: list[SpecIssue]) -> None:
        self.project_dir = project_dir
        self.issues = issues

    def read_text(self, path: Path, rel: str) -> str | None:
        try:
            raw = read_spec_bytes(self.project_dir, path)
        except FileRefused as problem:
            self.refused(problem, "this file")
            return None
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            self._issue(rel, line, "", "the file is not valid UTF-8 text; save it with UTF-8 encoding")
            return None

    def read_vars(self, path: Path) -> dict[str, Any]:
        """Template variables from specs/vars.yaml (a single mapping); {} when there is none."""
        if not os.path.lexists(path):
            return {}
        rel = path.relative_to(self.project_dir).as_posix()
        text = self.read_text(path, rel)
        return self.mapping(text, path, rel, VARS_FILE) if text is not None else {}

    def mapping(self, text: str, path: Path, rel: str, what: str) -> dict[str, Any]:
        """The one mapping of variable names to values that the file `what` must hold; {} when empty."""
        docs = list(self.documents(text, path, rel))
        if len(docs) > 1 or (docs and not isinstance(docs[0].data, dict)):
            line = docs[1].line if len(docs) > 1 else docs[0].line
            self._issue(rel, line, "", f"{what} must hold one mapping of variable names to values")
            return {}
        return dict(docs[0].data) if docs else {}

    def documents(self, text: str, path: Path, rel: str) -> Iterator[_Document]:
        """The non-empty documents of a YAML stream, as plain values with their field lines."""
        # Without aliases a file cannot hold more values than characters; aliases may add this many.
        limit = budget = len(text) + ALIAS_ALLOWANCE
        try:
            for index, node in enumerate(yaml.compose_all(text, Loader=_YAML_LOADER)):
                if node is None or (type(node) is ScalarNode and node.tag == _NULL):
                    continue  # empty document
                converter = _Converter(budget)
                try:
                    data = converter.value(node, "")
                except _Exhausted:
                    message = (
                        f"aliases here expand the file to more than {limit:,} values; "
                        "write the repeated values out, or generate them with a .j2 template"
                    )
                    self._issue(rel, _largest_alias_line(text, index), "", message)
                    return
                except _NodeError as exc:
                    converter.problems.append(exc)
                    data = None
                except RecursionError:
                    data = None
                    converter.problems.append(
                        _NodeError(_line(node), "", "nested too deeply, or an alias refers to itself")
                    )
                for problem in converter.problems:
                    self._issue(rel, problem.line, problem.field, problem.message)
                budget = converter.budget
                if data is not None:
                    yield _Document(path, rel, _first_key_line(node), data, converter.lines)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 0
            what = " ".join(p for p in (exc.context, exc.problem) if p)
            self._issue(rel, line, "", f"YAML syntax error: {what}; check indentation, colons and quoting")
        except yaml.reader.ReaderError as exc:  # carries no mark: find the character ourselves
            character = chr(exc.character)
            line = text.count("\n", 0, max(text.find(character), 0)) + 1
            message = f"the control character U+{exc.character:04X} is not allowed in YAML; remove it"
            self._issue(rel, line, "", message)
        except yaml.YAMLError as exc:
            self._issue(rel, 0, "", f"YAML error: {exc}")

    def refused(self, problem: FileRefused, subject: str) -> None:
        rel = problem.path.relative_to(self.project_dir).as_posix()  # as named in the project, never the target
        self._issue(rel, 0, "", f"{subject} {problem.reason}")

    def _issue(self, rel: str, line: int, field: str, message: str) -> None:
        self.issues.append(SpecIssue(rel, line, field, message))


class _Exhausted(Exception):
    """The values built from one file exceeded its budget (aliases expanding exponentially)."""


class _Converter:
    """Turns one document's nodes into plain values, recording each field's line and any problems.

    Written for speed: it runs once per node of every spec (50k documents in the benchmark).
    An alias is the same node as its anchor, built again each time it is used: `budget` counts
    the values built (an item per collection entry) and stops a "billion laughs" before memory does.
    """

    _constructor = SafeConstructor()

    def __init__(self, budget: int) -> None:
        self.lines: FieldLines = {}
        self.problems: list[_NodeError] = []  # kept going after these: the document is still checked
        self.budget = budget

    def value(self, node: Node, path: str) -> Any:
        node_type = type(node)
        if node_type is ScalarNode:
            return node.value if node.tag == _STR else self._scalar(node, path)
        if node_type is MappingNode and node.tag == _MAP:
            return self._mapping(node, path)
        if node_type is SequenceNode and node.tag == _SEQ:
            self._spend(len(node.value))
            lines, items = self.lines, []
            for index, item in enumerate(node.value):
                item_path = f"{path}.{index}" if path else str(index)
                lines[item_path] = item.start_mark.line + 1
                items.append(self.value(item, item_path))
            return items
        raise _NodeError(_line(node), path, f"unsupported YAML tag {node.tag}; use plain mappings and lists")

    def _spend(self, values: int) -> None:
        self.budget -= values
        if self.budget < 0:
            raise _Exhausted

    def _mapping(self, node: MappingNode, path: str) -> dict[str, Any]:
        self._spend(len(node.value))
        lines, result = self.lines, {}
        merged: dict[str, Any] = {}  # from `<<: *anchor`; explicit keys override them
        for key_node, value_node in node.value:
            if type(key_node) is not ScalarNode:
                raise _NodeError(_line(key_node), path, "mapping keys must be plain text")
            if key_node.tag == _MERGE:
                merged.update(self._merge(value_node, path))
                continue
            key = key_node.value  # the key as written: `on:` stays "on", not True
            line = key_node.start_mark.line + 1
            field = f"{path}.{key}" if path else key
            if key in result:
                message = f"duplicate key `{key}` (first at line {lines[field]}); remove one"
                self.problems.append(_NodeError(line, field, message))
                continue
            lines[field] = line
            result[key] = self.value(value_node, field)
        return {**merged, **result} if merged else result

    def _merge(self, node: Node, path: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for source in node.value if type(node) is SequenceNode else [node]:
            if type(source) is not MappingNode:
                raise _NodeError(_line(node), path, "`<<` must refer to a mapping (an &anchor on one)")
            merged.update(self._mapping(source, path))
        return merged

    def _scalar(self, node: ScalarNode, path: str) -> Any:
        if node.tag == _TIMESTAMP:
            return node.value  # pydantic parses dates from text and explains bad ones
        construct = _SCALAR_CONSTRUCTORS.get(node.tag)
        if construct is None:
            raise _NodeError(_line(node), path, f"unsupported YAML tag {node.tag}; remove the tag")
        try:
            return construct(self._constructor, node)
        except (ValueError, yaml.YAMLError) as exc:
            raise _NodeError(_line(node), path, f"cannot read value {node.value!r}: {exc}") from None


def _largest_alias_line(text: str, document: int) -> int:
    """Line of the alias that expands to the most values in the `document`-th document of `text`.

    Only run after a budget ran out: it parses the text again, as events, to find where aliases
    are written (the composed nodes keep only their anchor's position).
    """
    sizes: dict[str, int] = {}  # anchor -> values its node expands to
    open_sizes: list[list[Any]] = []  # [size so far, anchor] per open collection
    largest, line, index = 0, 0, -1
    for event in yaml.parse(text, Loader=_YAML_LOADER):
        event_type = type(event)
        if event_type is yaml.DocumentStartEvent:
            index += 1
            if index > document:
                break
        if index != document:
            continue
        if event_type in (yaml.SequenceStartEvent, yaml.MappingStartEvent):
            open_sizes.append([1, event.anchor])
            continue
        if event_type in (yaml.SequenceEndEvent, yaml.MappingEndEvent):
            size, anchor = open_sizes.pop()
        elif event_type is yaml.ScalarEvent:
            size, anchor = 1, event.anchor
        elif event_type is yaml.AliasEvent:
            size, anchor = sizes.get(event.anchor, 1), None
            if size > largest:
                largest, line = size, event.start_mark.line + 1
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        if open_sizes:
            open_sizes[-1][0] += size
    return line


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _first_key_line(node: Node) -> int:
    if isinstance(node, MappingNode) and node.value:
        return _line(node.value[0][0])
    return _line(node)


# ---------------------------------------------------------------- templates


class _TooLarge(SecurityError):
    """An expression would build a value no spec needs."""


class _BoundedEnvironment(SandboxedEnvironment):
    """The sandbox, plus bounds on the two operators that build huge values from a short expression.

    `"x" * 10**10` or `9 ** 9 ** 9` would exhaust memory or time inside one expression, before
    the rendered output could be measured.
    """

    intercepted_binops = frozenset(["*", "**"])

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > 64 and abs(left) > 1:
            raise _TooLarge(f"the power {left!r} ** {right!r} is too large for a spec")
        if operator == "*" and isinstance(left, int) and isinstance(right, str | list | tuple):
            left, right = right, left
        sequence = isinstance(left, str | list | tuple) and isinstance(right, int)
        if operator == "*" and sequence and len(left) * right > MAX_SPEC_BYTES:
            raise _TooLarge(f"repeating a value {right} times makes it {SIZE_LIMIT}")
        return super().call_binop(context, operator, left, right)


class _Renderer:
    """Renders *.j2 spec files: variables and filters only, no file system, no Python internals."""

    def __init__(self, variables: dict[str, Any], issues: list[SpecIssue]) -> None:
        self.env = _BoundedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
        self.variables = variables
        self.issues = issues

    def render(self, source: str, rel: str) -> str | None:
        try:
            template = self.env.from_string(source)
            return self._bounded(template, rel)
        except TemplateSyntaxError as exc:
            message = f"template syntax error: {exc.message}; fix the {{{{ }}}} or {{% %}} tag"
            self.issues.append(SpecIssue(rel, exc.lineno or 0, "", message))
        except _TooLarge as exc:
            self.issues.append(SpecIssue(rel, _template_line(exc), "", str(exc)))
        except SecurityError as exc:
            message = "template tried to access an unsafe attribute; templates may only use variables and filters"
            self.issues.append(SpecIssue(rel, _template_line(exc), "", message))
        except UndefinedError as exc:
            self.issues.append(SpecIssue(rel, _template_line(exc), "", _undefined_message(exc)))
        except Exception as exc:  # a template is user input: any failure is the user's to fix
            message = f"template failed: {type(exc).__name__}: {exc}"
            self.issues.append(SpecIssue(rel, _template_line(exc), "", message))
        return None

    def _bounded(self, template: Template, rel: str) -> str | None:
        """The rendered text; None after an issue once it grows past the size of a spec file (loops multiply)."""
        chunks = template.generate(self.variables)
        size, parts = 0, []
        for part in chunks:
            size += len(part)
            if size > MAX_SPEC_BYTES:
                line = _rendering_line(chunks, template)
                chunks.close()
                self.issues.append(SpecIssue(rel, line, "", f"the rendered template is {SIZE_LIMIT}"))
                return None
            parts.append(part)
        return "".join(parts)


def _rendering_line(chunks: Generator[str, None, None], template: Template) -> int:
    """The template line that `chunks` (Template.generate) is suspended at."""
    generator: Any = chunks
    line = 0
    while generator is not None and generator.gi_frame is not None:
        frame = generator.gi_frame
        if frame.f_code.co_filename == "<template>":
            line = template.get_corresponding_lineno(frame.f_lineno)
        generator = generator.gi_yieldfrom
    return line


def _template_line(exc: BaseException) -> int:
    """The template line jinja2 attributes the error to (its rewritten traceback frames)."""
    line, tb = 0, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _undefined_message(exc: UndefinedError) -> str:
    match = re.fullmatch(r"'([^']+)' is undefined", exc.message or "")
    if match:
        name = match.group(1)
        return f"template variable `{name}` is not defined; " + VAR_HINT.format(name=name)
    return f"template uses an undefined value ({exc.message}); " + VAR_HINT.format(name="NAME")


# ---------------------------------------------------------------- validation


def _validate(doc: _Document, issues: list[SpecIssue]) -> tuple[str, str, BaseModel] | None:
    """(kind, name, model) for a valid document; otherwise its issues are appended."""
    data = doc.data
    kinds = ", ".join(KIND_MODELS)
    if not isinstance(data, dict):
        got = "a list" if isinstance(data, list) else f"the value {_show(data)}"
        issues.append(
            SpecIssue(doc.rel, doc.line, "", f"a document must be a mapping with `kind` and `name`; got {got}")
        )
        return None
    kind = data.get("kind")
    if kind is None:
        issues.append(SpecIssue(doc.rel, doc.line, "kind", f"missing required field `kind`; use one of {kinds}"))
        return None
    if not isinstance(kind, str) or kind not in KIND_MODELS:
        message = f"unknown kind {_show(kind)}; valid kinds are: {kinds}" + _did_you_mean(kind, KIND_MODELS)
        issues.append(SpecIssue(doc.rel, doc.lines.get("kind", doc.line), "kind", message))
        return None
    try:
        model = _ADAPTERS[kind].validate_python(data)
    except ValidationError as exc:
        issues += [_issue_from_error(err, kind, doc) for err in exc.errors(include_url=False)]
        return None
    name = model.full_name if kind in ("Placement", "Moved") else model.name  # neither needs a `name`
    return kind, name, model


def _issue_from_error(err: Any, kind: str, doc: _Document) -> SpecIssue:
    loc = list(err["loc"])
    root = KIND_MODELS[kind]
    if kind == "Target" and loc and loc[0] in TARGET_MODELS:
        root = TARGET_MODELS[loc.pop(0)]  # drop pydantic's union tag segment
    if err["type"] in ("union_tag_not_found", "union_tag_invalid"):
        loc = ["platform"]  # the only tagged union: Target by platform
    is_key = bool(loc) and loc[-1] == "[key]"
    if is_key:
        loc.pop()
    field = ".".join(str(part) for part in loc)
    line = _field_line(doc, loc)
    secret_ish = "credentials" in loc  # never echo what someone may have pasted there
    return SpecIssue(doc.rel, line, field, _message(err, kind, root, loc, is_key, secret_ish))


def _field_line(doc: _Document, loc: list[Any]) -> int:
    """Line of the field, else of its closest parent that is written in the file, else the document's."""
    for end in range(len(loc), 0, -1):
        line = doc.lines.get(".".join(str(part) for part in loc[:end]))
        if line is not None:
            return line
    return doc.line


def _message(err: Any, kind: str, root: type[BaseModel], loc: list[Any], is_key: bool, secret: bool) -> str:
    etype, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    shown = "" if secret else f" {_show(value)}"
    if etype == "extra_forbidden":
        owner = _model_at(root, loc[:-1])
        what = _describe_owner(kind, root, loc[:-1])
        valid = list(owner.model_fields) if owner else []
        return f"unknown field `{loc[-1]}`; valid fields for {what} are: {', '.join(valid)}" + _did_you_mean(
            str(loc[-1]), valid
        )
    if etype == "missing":
        return f"missing required field `{loc[-1]}`; add it"
    if etype == "union_tag_not_found":
        return f"missing required field `platform`; set it to one of {', '.join(TARGET_MODELS)}"
    if etype == "union_tag_invalid":
        tag = str(ctx.get("tag"))
        return f"unknown platform {_show(tag)}; use one of {', '.join(TARGET_MODELS)}" + _did_you_mean(
            tag, TARGET_MODELS
        )
    if etype == "literal_error":
        allowed = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        what = "key" if is_key else "value"
        hint = _did_you_mean(value, allowed) if isinstance(value, str) else ""
        return f"invalid {what}{shown}; use one of {', '.join(allowed)}" + hint
    if etype == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        explain = _PATTERN_HELP.get(pattern, f"it must match the pattern {pattern}")
        return f"invalid value{shown}: {explain}"
    if etype == "string_type":
        if isinstance(value, bool):
            return (
                "expected text, but YAML read this as true/false (yes, no, on, off, NO... are booleans "
                "in YAML); put the value in quotes"
            )
        if isinstance(value, int | float):
            return f"expected text, got the number {value}; put it in quotes"
        return f"expected text, got{shown}"
    if etype in ("value_error", "assertion_error"):
        return str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if etype == "string_too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    simple = _SIMPLE_MESSAGES.get(etype)
    if simple is not None:
        return simple.format(**ctx) + (f" (got{shown})" if shown and not isinstance(value, dict) else "")
    return f"{err['msg']}" + (f" (got{shown})" if shown else "")


def _describe_owner(kind: str, root: type[BaseModel], parent: list[Any]) -> str:
    if parent:
        return "`" + ".".join(str(p) for p in parent if not isinstance(p, int)) + "`"
    if kind == "Target":
        platform = root.model_fields["platform"].annotation
        return f"a {get_args(platform)[0]} Target"
    return kind


def _model_at(model: type[BaseModel], path: list[Any]) -> type[BaseModel] | None:
    """The model class that a (pydantic) location inside `model` refers to."""
    current: type[BaseModel] | None = model
    for part in path:
        if isinstance(part, int):
            continue  # list index: same item model
        field = current.model_fields.get(part) if current else None
        current = _inner_model(field.annotation) if field else None
    return current


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _did_you_mean(value: Any, candidates: Any) -> str:
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, list(candidates), n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
_PATTERN_HELP = {
    NAME_PATTERN: "names use lowercase letters, digits, '.', '_' and '-', starting with a letter or digit",
    r"^https?://[^\s]+$": "expected an http:// or https:// URL without spaces, like https://example.com/page",
    _ENV_NAME: (
        "expected the NAME of an environment variable (letters, digits and '_', not starting with a "
        "digit), like BROADSTREET_API_TOKEN; never put the secret itself in a spec"
    ),
    r"^act_[0-9]+$": "a Meta ad account id is act_ followed by digits, like act_1234567890",
    r"^[0-9]+$": "expected digits only, like 1234567890",
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$": (
        "a Snapchat ad account id is a lowercase UUID like 8f7e6d5c-4b3a-4c2d-9e1f-0a1b2c3d4e5f"
    ),
    r"^[1-9][0-9]{0,4}x[1-9][0-9]{0,4}$": "sizes are WIDTHxHEIGHT like 728x90",
    r"^[A-Za-z0-9._-]+$": "aliases use letters, digits, '.', '_' and '-'",
    r"^[A-Z_]+$": "a call to action is upper-case letters and '_', like LEARN_MORE or SHOP_NOW",
    r"^[A-Z]{3}$": "expected a three-letter upper-case currency code like USD",
    r"^[A-Z]{2}$": "expected a two-letter upper-case country code like US (quote NO for Norway)",
}
_SIMPLE_MESSAGES = {
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "decimal_type": "expected an amount like 50.00",
    "decimal_parsing": "expected an amount like 50.00",
    "decimal_max_places": "use at most {decimal_places} decimal places",
    "decimal_max_digits": "use at most {max_digits} digits",
    "decimal_whole_digits": "use at most {whole_digits} digits before the decimal point",
    "greater_than": "must be greater than {gt}",
    "greater_than_equal": "must be at least {ge}",
    "less_than": "must be less than {lt}",
    "less_than_equal": "must be at most {le}",
    "too_short": "needs at least {min_length} item(s)",
    "too_long": "takes at most {max_length} item(s)",
    "string_too_short": "must be at least {min_length} characters long",
    "string_too_long": "must not be longer than {max_length} characters",
    "date_type": "expected a date like 2026-06-01",
    "date_parsing": "expected a date like 2026-06-01 ({error})",
    "date_from_datetime_parsing": "expected a date like 2026-06-01 ({error})",
    "date_from_datetime_inexact": "expected a date like 2026-06-01 without a time",
    "dict_type": "expected a mapping (`key: value` lines)",
    "model_type": "expected a mapping (`key: value` lines)",
    "model_attributes_type": "expected a mapping (`key: value` lines)",
    "list_type": "expected a list, like [a, b] or one `- item` per line",
}
