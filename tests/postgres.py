"""A throwaway PostgreSQL server for the tests, and a fresh database per test.

The server is the machine's PostgreSQL 15 (initdb + pg_ctl), started on 127.0.0.1 on a free port
with password authentication, so the password-redaction tests are real. initdb refuses to run as
root: as root, it runs as the `postgres` OS user. Without the binaries the tests that need it skip.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e import free_port

BINDIR = Path("/usr/lib/postgresql/15/bin")
REQUIRED_ENV = "RECONCILER_TEST_REQUIRE_POSTGRES"  # set by .ci/run
PASSWORD = "pg-secret-pass-7c2e91"  # distinctive: tests assert it never appears in any output
USER = "reconciler"


@dataclass
class Server:
    port: int
    _names: Iterator[int]

    def url(self, database: str, password: str = PASSWORD) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; returns its URL."""
        import psycopg

        name = f"test_{next(self._names)}"
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def _bindir() -> Path | None:
    if (BINDIR / "initdb").exists():
        return BINDIR
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True).stdout.strip())
        if (found / "initdb").exists():
            return found
    return None


@contextlib.contextmanager
def postgres_server() -> Iterator[Server]:
    bindir = _bindir()
    if bindir is None:
        missing = f"PostgreSQL server binaries not found ({BINDIR}/initdb): apt-get install -y postgresql-15"
        if os.environ.get(REQUIRED_ENV):  # CI (.ci/run): a skipped backend test would hide a failure
            pytest.fail(f"{missing}; {REQUIRED_ENV} is set, so the PostgreSQL tests must run")
        pytest.skip(missing)
    as_root = os.geteuid() == 0
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    base = Path(tempfile.mkdtemp(prefix="reconciler-pg-"))
    data, pwfile = base / "data", base / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if as_root:
        owner = pwd.getpwnam("postgres")
        os.chown(base, owner.pw_uid, owner.pw_gid)
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    os.chmod(base, 0o700)
    port = free_port()
    subprocess.run(
        [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", USER, "--pwfile", str(pwfile),
         "--auth", "scram-sha-256", "-E", "UTF8", "--no-sync"],
        check=True, capture_output=True,
    )  # fmt: skip
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {base} -c fsync=off -c max_connections=100"
    subprocess.run(
        [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"],
        check=True, capture_output=True,
    )  # fmt: skip
    try:
        yield Server(port, itertools.count(1))
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)
