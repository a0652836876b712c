"""Every `reconciler github` command, fed every bad path, variable and GitHub answer: one line, exit 1.

The cases come from the commands themselves: each click.Path option, each declared
environment variable (by its kind) and each request a good run makes to the fake GitHub.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from starlette.responses import JSONResponse, RedirectResponse, Response

from reconciler.cli import main
from reconciler.github.cli import GitHubCommand, github
from reconciler.github.comment import marker
from reconciler.github.environment import Kind, Variable
from reconciler.plan.planfile import plan_to_json
from tests import github_fake
from tests.github_fake import MERGE_SHA, PR, TOKEN, FakeGitHub, serve
from tests.test_github import small_plan

fake_server = github_fake.fake_server
fake = github_fake.fake


# A bad value: as is, or made in a scratch directory.
Bad = str | Callable[[Path], str]


def _value(bad: Bad, scratch: Path) -> str:
    return bad if isinstance(bad, str) else bad(scratch)


def _file(content: bytes) -> Callable[[Path], str]:
    def make(tmp: Path) -> str:
        path = tmp / "bad-file"
        path.write_bytes(content)
        return str(path)

    return make


def _fifo(tmp: Path) -> str:
    path = tmp / "pipe"
    os.mkfifo(path)  # nobody at the other end: a plain open or read would wait forever
    return str(path)


def _closed_port_url(tmp: Path) -> str:
    with socket.socket() as sock:  # bound, never listened on, then closed: connections are refused
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/api/v3"


UNREADABLE_PATHS: list[Bad] = [
    lambda tmp: str(tmp / "missing.json"),
    lambda tmp: str(tmp),  # a directory
    lambda tmp: _file(b"{}")(tmp) + "/x.json",  # under a file
    _file(b'{"a": "\xff\xfe"}'),  # not UTF-8
    _fifo,
]
EMPTY_FILE = _file(b"")
BAD_READ_PATHS: list[Bad] = [
    *UNREADABLE_PATHS,
    EMPTY_FILE,
    _file(b"<html>not json</html>"),
    _file(b"[1, 2]"),
    _file(b'"x"'),
    _file(b'{"pull_request": "17", "format_version": 1}'),  # JSON of the wrong shape
    _file(b'{"pull_request": {"number": true}}'),
]
# Options whose files may hold more than BAD_READ_PATHS allows: any text is a log, and an empty
# events file is an apply that sent nothing.
BAD_FOR_OPTION: dict[str, list[Bad]] = {
    "--log": UNREADABLE_PATHS,
    "--apply-result": [bad for bad in BAD_READ_PATHS if bad is not EMPTY_FILE],
}
BAD_APPEND_PATHS: list[Bad] = [
    lambda tmp: str(tmp),  # a directory
    lambda tmp: str(tmp / "missing" / "summary.md"),
    lambda tmp: _file(b"")(tmp) + "/summary.md",  # under a file
    _fifo,
]
BAD_URLS: list[Bad] = [
    "not-a-url",
    "http://[bad",
    "http://",
    "http://api..example/",  # an empty label
    "http://xn--/",  # a malformed IDNA label
    "ftp://127.0.0.1/api",
    "http://127.0.0.1:99999/api",
    "http://127.0.0.1/a pi",
    "https://user:hunter2-password@127.0.0.1/api",
    _closed_port_url,
]
BAD_VALUES: list[Bad] = ["acme", "acme/ads/x", "../ads", "acme/a ds", "acme/ads\n"]
BAD_SECRETS: list[Bad] = [TOKEN + "\nX-Injected: 1", TOKEN + " x", TOKEN + "é"]
BAD_BY_KIND = {
    Kind.READ_PATH: BAD_READ_PATHS,
    Kind.APPEND_PATH: BAD_APPEND_PATHS,
    Kind.URL: BAD_URLS,
    Kind.VALUE: BAD_VALUES,
    Kind.SECRET: BAD_SECRETS,
}

# What a misbehaving GitHub, proxy or wrong GITHUB_API_URL answers; wrong for every endpoint.
BAD_ANSWERS = {
    "HTML with 200": lambda: Response("<html><body>Sign in</body></html>", 200, media_type="text/html"),
    "an empty 200": lambda: Response(b"", 200),
    "not UTF-8": lambda: Response(b'{"id": "\xff"}', 200, media_type="application/json"),
    "an object without the fields": lambda: JSONResponse({"unexpected": True}),
    "a list of wrong items": lambda: JSONResponse([{"id": "7", "html_url": 3}]),
    "a non-object user": lambda: JSONResponse([{"id": 7, "html_url": "u", "body": "b", "user": "bob"}]),
    "HTML with 502": lambda: Response("<html>Bad gateway</html>", 502, media_type="text/html"),
    "a long multi-line message": lambda: JSONResponse({"message": "one\ntwo\r\n" + "x" * 5000, "errors": 5}, 500),
    "the token echoed": lambda: JSONResponse({"message": f"token {TOKEN} is odd", "errors": [{"message": TOKEN}]}, 400),
    "a redirect": lambda: RedirectResponse("https://elsewhere.example/", 302),
}


def _good_plan(directory: Path) -> str:
    path = directory / "plan.json"
    path.write_text(json.dumps(plan_to_json(small_plan())))
    return str(path)


def _good_events(directory: Path) -> str:
    path = directory / "events.jsonl"
    path.write_text(json.dumps({"event": "apply:done", "counts": {"done": 2}, "message": "ok"}) + "\n")
    return str(path)


def _good_log(directory: Path) -> str:
    path = directory / "errors.log"
    path.write_text("")
    return str(path)


# A good value for each path or required option (given a directory for it), so that the others
# can be made bad one at a time. A new option without an entry here fails the sweep.
GOOD_OPTIONS: dict[str, Callable[[Path], str]] = {
    "--plan": _good_plan,
    "--apply-result": _good_events,
    "--log": _good_log,
}
# The ways of running a command that take different options: each option and the variables it leaves unread.
MODES: dict[str, list[tuple[tuple[str, ...], set[str]]]] = {
    "comment": [(("--plan",), {"GITHUB_SHA"}), (("--apply-result", "--log"), {"GITHUB_EVENT_PATH"})],
}


@dataclass(frozen=True)
class Run:
    """One good way of running a command: its path and required options, and the variables it reads."""

    name: str
    command: GitHubCommand
    options: tuple[str, ...]
    environment: tuple[Variable, ...]


def commands() -> list[Run]:
    runs = []
    for name, command in sorted(github.commands.items()):
        assert isinstance(command, GitHubCommand), f"github {name} must declare the environment it reads"
        options = tuple(
            p.opts[0]
            for p in command.params
            if isinstance(p, click.Option) and (p.required or isinstance(p.type, click.Path))
        )
        for option in options:
            assert option in GOOD_OPTIONS, f"github {name} {option}: add a good value to GOOD_OPTIONS"
        modes = MODES.get(name, [(options, set())])
        assert {o for mode, _ in modes for o in mode} == set(options), f"github {name}: MODES misses an option"
        for mode, unread in modes:
            environment = tuple(v for v in command.environment if v.name not in unread)
            runs.append(Run(name, command, mode, environment))
    return runs


def good_argv(run: Run, tmp: Path) -> list[str]:
    argv = ["github", run.name]
    for option in run.options:
        argv += [option, GOOD_OPTIONS[option](tmp)]
    return argv


def path_options(run: Run) -> list[str]:
    paths = {p.opts[0] for p in run.command.params if isinstance(p, click.Option) and isinstance(p.type, click.Path)}
    return [option for option in run.options if option in paths]


REVIEWED = "ab" * 32  # the digest our plan comment keeps


def merged_and_reviewed(fake: FakeGitHub, ours: bool = True) -> None:
    """PR merged as MERGE_SHA, with (when `ours`) our plan comment keeping a digest."""
    fake.merge(PR)
    if ours:
        fake.add(PR, f"{marker('default', REVIEWED)}\nan earlier plan")


@pytest.fixture()
def environment(tmp_path: Path, fake: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A good Actions environment, every variable set so that none leaks in from the runner."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": PR}}))
    values = {
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": github_fake.REPO,
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_SHA": MERGE_SHA,
        "GITHUB_API_URL": fake.base_url,
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("RECONCILER_GITHUB_AUTHOR", raising=False)
    merged_and_reviewed(fake)
    return values


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    """The real entry point in-process: an unexpected exception escapes as itself, failing the test."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    captured = capsys.readouterr()
    return int(exit_.value.code or 0), captured.out, captured.err


def assert_one_line_error(code: int, out: str, err: str, *names: str) -> None:
    assert code == 1, (out, err)
    assert "Traceback" not in out + err
    assert TOKEN not in out + err and "hunter2" not in out + err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), err
    for name in names:
        assert name in lines[0], (name, lines[0])


def test_a_good_run_succeeds_for_every_command(tmp_path, environment, fake, capsys):
    """The baseline the sweeps below spoil one input at a time."""
    for command in commands():
        code, out, err = run(capsys, good_argv(command, tmp_path))
        assert code == 0, err
        assert fake.requests


def test_every_path_option_rejects_bad_files(tmp_path, environment, fake, capsys):
    swept = 0
    for command in commands():
        for option in path_options(command):
            for bad in BAD_FOR_OPTION.get(option, BAD_READ_PATHS):
                scratch = tmp_path / f"{command.name}{option}-{swept}"
                scratch.mkdir()
                argv = good_argv(command, scratch)
                argv[argv.index(option) + 1] = value = _value(bad, scratch)
                code, out, err = run(capsys, argv)
                assert_one_line_error(code, out, err, value)
                swept += 1
    assert swept >= 2 * len(BAD_READ_PATHS)  # at least --plan and --apply-result
    assert not any(method in ("POST", "PATCH") for method, _ in fake.requests)  # nothing posted


def test_every_environment_variable_rejects_bad_values(tmp_path, environment, fake, monkeypatch, capsys):
    swept = set()
    for command in commands():
        for variable in command.environment:
            cases = BAD_BY_KIND[variable.kind] + ([""] if variable.required else [])
            for i, bad in enumerate(cases):
                scratch = tmp_path / f"{command.name}-{command.options}-{variable.name}-{i}"
                scratch.mkdir()
                with monkeypatch.context() as patch:
                    patch.setenv(variable.name, _value(bad, scratch))
                    code, out, err = run(capsys, good_argv(command, scratch))
                assert_one_line_error(code, out, err, variable.name)
                swept.add(variable.name)
    assert {"GITHUB_TOKEN", "GITHUB_REPOSITORY", "GITHUB_EVENT_PATH", "GITHUB_SHA", "GITHUB_API_URL"} <= swept
    assert "GITHUB_STEP_SUMMARY" in swept
    assert not any(method in ("POST", "PATCH") for method, _ in fake.requests)


@pytest.mark.parametrize("ours_exists", [False, True], ids=["fresh pull request", "our comment exists"])
def test_every_github_request_rejects_bad_answers(tmp_path, environment, fake, capsys, ours_exists):
    def start_over(broken: dict[tuple[str, str], Response]) -> None:
        fake.reset()
        fake.broken.update(broken)
        merged_and_reviewed(fake, ours_exists)

    for command in commands():
        if command.name == "reviewed-digest" and not ours_exists:
            continue  # it reads our comment: without one, a good run fails (test_github_reviewed.py)
        start_over({})
        code, _, err = run(capsys, good_argv(command, tmp_path))
        assert code == 0, err
        requests = sorted(set(fake.requests))
        assert len(requests) >= 2  # at least a lookup (the comments, or the merged pull request) and a post
        for request in requests:
            for answer_name, answer in BAD_ANSWERS.items():
                start_over({request: answer()})
                code, out, err = run(capsys, good_argv(command, tmp_path))
                assert_one_line_error(code, out, err, "GitHub API", request[0])
                assert len(err) < 600, f"{request} {answer_name}: {err}"
                assert request in fake.requests


def test_next_page_link_to_another_host_is_not_followed(tmp_path, environment, fake, capsys):
    """The token goes with every request, so a Link header must not lead it elsewhere."""
    elsewhere = FakeGitHub()
    with serve(elsewhere.asgi()) as other:
        listing = ("GET", fake.path(f"/repos/{github_fake.REPO}/issues/{PR}/comments"))
        fake.broken[listing] = JSONResponse([], headers={"Link": f'<{other}/api/v3/steal?page=2>; rel="next"'})
        code, out, err = run(capsys, good_argv(commands()[0], tmp_path))
    assert_one_line_error(code, out, err, "next-page link", other)
    assert elsewhere.requests == []
