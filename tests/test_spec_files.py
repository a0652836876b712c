"""Which files a spec makes reconciler read: only regular files inside the project, never hidden ones.

The project sits in tmp_path/proj so that tmp_path/outside is a real place outside it.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from reconciler.errors import SpecError, SpecIssue
from reconciler.spec.files import MAX_SPEC_BYTES
from reconciler.spec.loader import load_specs
from tests.conftest import SPECS, png_bytes
from tests.e2e import run_reconciler

SECRET = "outside-secret-7d1e"  # content of files outside the project: never in any message
ASSET_LINE = next(n for n, line in enumerate(SPECS.splitlines(), 1) if line.startswith("asset:"))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    project = tmp_path / "proj"
    (project / "specs" / "assets").mkdir(parents=True)
    (project / "specs" / "assets" / "banner.png").write_bytes(png_bytes())
    (project / "specs" / "main.yaml").write_text(SPECS)
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.yaml").write_text(f"kind: Advertiser\nname: x\ndisplay_name: {SECRET}\nbad: [\n")
    (outside / "dir" / "more.yaml").write_text(f"kind: Nope\nname: {SECRET}\n")
    return project


def issues_of(root: Path) -> list[SpecIssue]:
    with pytest.raises(SpecError) as caught:
        load_specs(root)
    assert SECRET not in str(caught.value)
    return caught.value.issues


def with_asset(root: Path, asset: str) -> Path:
    main = root / "specs" / "main.yaml"
    main.write_text(SPECS.replace("asset: assets/banner.png", f"asset: {asset}"))
    return root


def asset_issue(root: Path, asset: str) -> str:
    issues = issues_of(with_asset(root, asset))
    assert [(i.file, i.line, i.field) for i in issues] == [("specs/main.yaml", ASSET_LINE, "asset")]
    return issues[0].message


@pytest.mark.parametrize(
    "asset",
    ["../../outside/secret.yaml", "/proc/self/environ", "/etc/hostname", "../../outside/../proj/../outside/dir"],
)
def test_an_asset_outside_the_project_is_refused(root: Path, asset: str) -> None:
    message = asset_issue(root, asset)
    assert (
        message
        == f"asset file `{asset}` resolves outside the project directory; only files inside the project may be used"
    )


def test_an_asset_linked_to_a_file_outside_the_project_is_refused(root: Path) -> None:
    (root / "specs/assets/banner.png").unlink()
    (root / "specs/assets/banner.png").symlink_to(root.parent / "outside/secret.yaml")
    assert "resolves outside the project directory" in asset_issue(root, "assets/banner.png")


def test_an_asset_linked_inside_the_project_is_used_at_its_real_path(root: Path) -> None:
    (root / "media").mkdir()
    (root / "specs/assets/banner.png").rename(root / "media/banner.png")
    (root / "specs/assets/banner.png").symlink_to(root / "media/banner.png")
    assert load_specs(root).asset_paths["banner"] == (root / "media/banner.png").resolve()


@pytest.mark.parametrize("hidden", [".git/config", ".env"])
def test_an_asset_under_a_hidden_name_is_refused(root: Path, hidden: str) -> None:
    # actions/checkout keeps the job's token in .git/config; .env files hold secrets
    (root / hidden).parent.mkdir(exist_ok=True)
    (root / hidden).write_text(SECRET)
    message = asset_issue(root, f"../{hidden}")
    assert message.endswith(f"resolves into the hidden path `{hidden.split('/')[0]}`; hidden files are never used")


def test_an_asset_that_is_a_directory_or_a_fifo_is_refused(root: Path) -> None:
    assert asset_issue(root, "assets").endswith("is a directory, not a regular file; only regular files are read")
    os.mkfifo(root / "specs/assets/pipe.png")
    assert "is a FIFO (named pipe), not a regular file" in asset_issue(root, "assets/pipe.png")


def test_a_spec_file_linked_outside_the_project_is_refused_without_reading_it(root: Path) -> None:
    (root / "specs/linked.yaml").symlink_to(root.parent / "outside/secret.yaml")
    assert issues_of(root) == [
        SpecIssue(
            "specs/linked.yaml",
            0,
            "",
            "this file resolves outside the project directory; only files inside the project may be used",
        )
    ]


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/stdin"])
def test_a_spec_file_linked_to_a_device_is_refused(root: Path, device: str) -> None:
    (root / "specs/x.yaml").symlink_to(device)
    [issue] = issues_of(root)
    assert issue.file == "specs/x.yaml" and "outside the project" in issue.message


def test_a_fifo_or_socket_inside_the_project_is_refused_without_opening_it(root: Path) -> None:
    os.mkfifo(root / "specs/pipe.yaml")
    os.mkfifo(root / "specs/vars.yaml")
    (root / "specs/elsewhere.yml").symlink_to(root / "specs/pipe.yaml")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(root / "specs/sock.yaml"))
        issues = issues_of(root)
    fifo = "this file is a FIFO (named pipe), not a regular file; only regular files are read"
    assert [(i.file, i.message) for i in issues] == [
        ("specs/elsewhere.yml", fifo),
        ("specs/pipe.yaml", fifo),
        ("specs/sock.yaml", "this file is a socket, not a regular file; only regular files are read"),
        ("specs/vars.yaml", fifo),
    ]


def test_linked_directories_follow_the_same_rule_as_linked_files(root: Path) -> None:
    (root / "shared").mkdir()
    (root / "shared/advertiser.yaml").write_text("kind: Advertiser\nname: globex\ndisplay_name: Globex\n")
    (root / "specs/shared").symlink_to(root / "shared")  # inside the project: read
    (root / "specs/foreign").symlink_to(root.parent / "outside/dir")  # outside: refused, not read
    (root / "specs/loop").symlink_to(root / "specs")  # the same directory again: refused, no loop
    issues = issues_of(root)
    assert [(i.file, i.message) for i in issues] == [
        (
            "specs/foreign",
            "this directory resolves outside the project directory; only files inside the project may be used",
        ),
        ("specs/loop", "this directory is the directory specs again (a symbolic link loop?); remove the link"),
    ]
    (root / "specs/foreign").unlink()
    (root / "specs/loop").unlink()
    assert set(load_specs(root).advertisers) == {"acme", "globex"}


def test_specs_and_vars_linked_outside_the_project_are_refused(root: Path) -> None:
    (root / "specs/vars.yaml").symlink_to(root.parent / "outside/secret.yaml")
    assert [i.file for i in issues_of(root)] == ["specs/vars.yaml"]
    (root / "specs/vars.yaml").unlink()
    (root / "specs").rename(root / "real-specs")
    (root / "specs").symlink_to(root.parent / "outside")
    assert [(i.file, i.line) for i in issues_of(root)] == [("specs", 0)]


def test_an_oversized_spec_file_is_refused_and_says_the_limit(root: Path) -> None:
    (root / "specs/huge.yaml").write_bytes(b"# padding\n" * (MAX_SPEC_BYTES // 10 + 1))
    [issue] = issues_of(root)
    assert issue.file == "specs/huge.yaml"
    assert issue.message == "this file is larger than 8 MB, the limit for a spec file; split it into several"


def test_validate_command_refuses_a_fifo_and_dev_zero_without_hanging(root: Path) -> None:
    os.mkfifo(root / "specs/pipe.yaml")
    (root / "specs/zero.yaml").symlink_to("/dev/zero")
    with_asset(root, "/proc/self/environ")
    try:
        result = run_reconciler(root, "validate", timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("reconciler validate blocked on a FIFO or /dev/zero")
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert "specs/pipe.yaml: this file is a FIFO" in result.stderr
    assert "specs/zero.yaml: this file resolves outside the project directory" in result.stderr
    assert f"specs/main.yaml:{ASSET_LINE}: asset: asset file `/proc/self/environ` resolves outside" in result.stderr
    assert "BROADSTREET_API_TOKEN=" not in result.stderr
