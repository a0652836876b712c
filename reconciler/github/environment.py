"""The GitHub Actions environment `reconciler github ...` reads, checked before anything is sent.

Every variable is declared once here (name, kind, purpose): the commands list them in --help
and the tests sweep each one with bad values by its kind.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from reconciler.errors import ReconcilerError
from reconciler.files import read_regular_file

DEFAULT_API_URL = "https://api.github.com"


class Kind(Enum):
    SECRET = "secret"  # never shown, not even in errors about it
    VALUE = "value"
    URL = "url"  # where the token is sent
    READ_PATH = "file read"
    APPEND_PATH = "file appended to"


@dataclass(frozen=True)
class Variable:
    name: str
    kind: Kind
    required: bool
    help: str


TOKEN = Variable("GITHUB_TOKEN", Kind.SECRET, True, "token for the REST API: `env: GITHUB_TOKEN: ${{ github.token }}`")
REPOSITORY = Variable("GITHUB_REPOSITORY", Kind.VALUE, True, "OWNER/NAME of the repository")
EVENT_PATH = Variable("GITHUB_EVENT_PATH", Kind.READ_PATH, True, "the triggering event's JSON (the pull request)")
API_URL = Variable("GITHUB_API_URL", Kind.URL, False, f"REST API root (default {DEFAULT_API_URL})")
STEP_SUMMARY = Variable("GITHUB_STEP_SUMMARY", Kind.APPEND_PATH, False, "the job summary; the comment is appended")
SHA = Variable("GITHUB_SHA", Kind.VALUE, False, "the commit applied, merged from a pull request (default: git HEAD)")

_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")  # what an HTTP header can carry: printable ASCII, no spaces
_REPOSITORY = re.compile(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+")
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")  # SHA-1, or SHA-256 object names


@dataclass(frozen=True)
class RepositoryContext:
    """Where and how to call the API: what every `reconciler github` command takes from the environment."""

    token: str
    repository: str
    api_url: str
    step_summary: Path | None


@dataclass(frozen=True)
class PullRequestContext(RepositoryContext):
    """The repository context plus the pull request of the triggering event."""

    number: int


def pull_request_context(environ: Mapping[str, str]) -> PullRequestContext:
    """Read and check the variables; a bad one is a ReconcilerError naming it (never the token's value)."""
    repository = repository_context(environ)
    number = pull_request_number(_require(environ, EVENT_PATH))
    return PullRequestContext(**vars(repository), number=number)


def repository_context(environ: Mapping[str, str]) -> RepositoryContext:
    """The token, repository, API root and job summary, each checked."""
    token = _require(environ, TOKEN)
    if not _TOKEN_CHARS.fullmatch(token):
        raise ReconcilerError(
            f"{TOKEN.name} contains spaces, line breaks or non-ASCII characters, so it cannot be a token "
            "(its value is not shown); check the secret it is set from."
        )
    repository = _require(environ, REPOSITORY)
    if not _REPOSITORY.fullmatch(repository) or {".", ".."} & set(repository.split("/")):
        raise ReconcilerError(f"{REPOSITORY.name}={repository!r} is not of the form OWNER/NAME.")
    summary = environ.get(STEP_SUMMARY.name)
    return RepositoryContext(
        token=token,
        repository=repository,
        api_url=api_url(environ.get(API_URL.name) or DEFAULT_API_URL),
        step_summary=Path(summary) if summary else None,
    )


def current_commit(environ: Mapping[str, str], directory: Path) -> str:
    """The commit being applied: GITHUB_SHA, else `git rev-parse HEAD` in `directory`."""
    sha = environ.get(SHA.name)
    if sha is None:
        try:
            done = subprocess.run(
                ["git", "-C", str(directory), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ReconcilerError(f"{SHA.name} is not set and `git rev-parse HEAD` could not run: {exc}.") from None
        if done.returncode != 0:
            problem = " ".join(done.stderr.split()) or f"exit {done.returncode}"
            raise ReconcilerError(f"{SHA.name} is not set and `git rev-parse HEAD` in {directory} failed: {problem}.")
        sha = done.stdout.strip()
    if not _COMMIT.fullmatch(sha):
        raise ReconcilerError(f"{SHA.name}={sha!r} is not a commit id (40 or 64 lowercase hex digits).")
    return sha


def api_url(value: str) -> str:
    """The API root, refused unless it is an http(s) URL with a host and no credentials in it."""
    if "@" in value:  # userinfo; not shown, since what precedes the @ may be a password
        raise ReconcilerError(
            f"{API_URL.name} must not carry credentials (it has an @); the token goes in {TOKEN.name}."
        )
    try:
        parts = urlsplit(value)
        host, _ = parts.hostname, parts.port  # reading the port is what checks it
        if host:
            host.encode("idna")  # the socket layer's check: no empty or over-long labels
            httpx.URL(value).host  # noqa: B018 - the client's own parse; decoding checks xn-- labels
    except (ValueError, httpx.InvalidURL) as exc:  # UnicodeError (IDNA) is a ValueError
        raise _bad_url(value, f"is not a valid URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not host:
        raise _bad_url(value, "is not an http(s) URL with a host")
    if "%" in host or any(c.isspace() or not c.isprintable() for c in value):
        raise _bad_url(value, "has characters a URL cannot have")
    return value.rstrip("/")


def _bad_url(value: str, problem: str) -> ReconcilerError:
    return ReconcilerError(
        f"{API_URL.name}={value!r} {problem}; expected e.g. {DEFAULT_API_URL} or https://HOST/api/v3."
    )


def pull_request_number(event_path: str) -> int:
    """The pull request of the triggering event: pull_request.number, or issue.number for comments."""
    where = f"{EVENT_PATH.name}={event_path}"
    try:
        text = read_regular_file(Path(event_path)).decode("utf-8")  # a FIFO is refused, not waited on
    except OSError as exc:
        raise ReconcilerError(f"{where}: cannot read the event file: {exc.strerror or exc}.") from None
    except UnicodeDecodeError as exc:
        raise ReconcilerError(f"{where}: the event file is not UTF-8 text (byte {exc.start}).") from None
    try:
        event: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReconcilerError(
            f"{where}: the event file is not valid JSON (line {exc.lineno} column {exc.colno}: {exc.msg})."
        ) from None
    for key in ("pull_request", "issue"):
        section = event.get(key) if isinstance(event, dict) else None
        number = section.get("number") if isinstance(section, dict) else None
        # bool is an int subclass, and no pull request is numbered 0 or below.
        if isinstance(number, int) and not isinstance(number, bool) and number > 0:
            return number
    raise ReconcilerError(
        f"{where}: the event has no pull_request.number or issue.number. "
        "Run `reconciler github comment` in a workflow triggered by pull_request."
    )


def _require(environ: Mapping[str, str], variable: Variable) -> str:
    value = environ.get(variable.name)
    if not value:
        how = (
            "pass it to the step with `env: GITHUB_TOKEN: ${{ github.token }}`"
            if variable is TOKEN
            else "GitHub Actions sets it for every step"
        )
        raise ReconcilerError(f"{variable.name} is not set: {how}; outside GitHub Actions, export it yourself.")
    return value
