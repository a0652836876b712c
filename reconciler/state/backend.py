"""Which store holds a workspace's state: the files under state/, or the database a URL names."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from reconciler.errors import ReconcilerError
from reconciler.model import TargetConfig
from reconciler.state.local import LocalFileStore, list_workspaces
from reconciler.state.store import StateStore

STATE_URL_ENV = "RECONCILER_STATE_URL"
POSTGRES_SCHEMES = ("postgresql", "postgres")

_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*(@)")
_QUERY_PASSWORD = re.compile(r"(password=)[^&\s]*", re.IGNORECASE)


def redact_url(text: str) -> str:
    """`text` (a URL, or a message quoting one) with every URL password replaced by ***."""
    return _QUERY_PASSWORD.sub(r"\1***", _URL_PASSWORD.sub(r"\1***\2", text))


def scrub(text: str, url: str) -> str:
    """`text` without `url`'s password, even where a message quotes the password alone."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    for secret in {password, unquote(password or "")} - {None, ""}:
        text = text.replace(secret, "***")  # type: ignore[arg-type]
    return redact_url(text)


def open_store(
    project_dir: Path,
    workspace: str,
    *,
    sandbox: bool = False,
    endpoint_of: Callable[[TargetConfig], str] | None = None,
    url: str | None = None,
    lock_timeout: float = 0.0,
) -> StateStore:
    """The store of `workspace`: PostgreSQL for a postgresql:// URL, the project's state/ files without one."""
    if not url:
        return LocalFileStore(
            project_dir, workspace, sandbox=sandbox, endpoint_of=endpoint_of, lock_timeout=lock_timeout
        )
    check_state_url(url)
    from reconciler.state.postgres import PostgresStore  # psycopg is loaded only when a database is used

    return PostgresStore(url, workspace, sandbox=sandbox, endpoint_of=endpoint_of, lock_timeout=lock_timeout)


def workspaces(project_dir: Path, url: str | None) -> list[str]:
    """The workspaces the store holds a (live) state for, sorted."""
    if not url:
        return list_workspaces(project_dir)
    check_state_url(url)
    from reconciler.state.postgres import list_workspaces as list_database_workspaces

    return list_database_workspaces(url)


def check_state_url(url: str) -> None:
    """Refuse a state URL no store serves."""
    if url.partition(":")[0].lower() not in POSTGRES_SCHEMES or "://" not in url:
        raise ReconcilerError(
            f"state URL {redact_url(url)!r} (--state-url or ${STATE_URL_ENV}): unsupported; use "
            "postgresql://USER:PASSWORD@HOST:PORT/DATABASE, or none for the files under state/"
        )
