"""The harness the provider and sandbox tests share.

AsyncSandbox is the async counterpart of tests/inprocess.py's InProcessSandbox: a fresh sandbox app
called in-process at reconciler.connect.SANDBOX_ROOT, with its control API. Around it: builders for
targets, operations and asset files, a check that no secret leaks, and the CLI of end-to-end tests.
"""

from __future__ import annotations

import abc
import asyncio
import hashlib
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self, TypeVar

import httpx
import pytest

from reconciler.cli import main as reconciler_main
from reconciler.connect import SANDBOX_ROOT
from reconciler.model import Action, Asset, Operation, TargetConfig
from reconciler.providers.base import Provider
from reconciler.sandbox import PLATFORMS, create_app, snapchat
from reconciler.sandbox.store import Store, StoredObject

S = TypeVar("S", bound="AsyncSandbox")
T = TypeVar("T")

API_ROOTS = {platform.name: platform.prefix for platform in PLATFORMS}


class AsyncSandbox:
    """A fresh in-process sandbox: providers reach it through `transport`, tests through `http`.

    Open it with `async with` (in_sandbox does), which closes `http` at the end. A subclass's
    `platform` narrows `listing`, `objects` and `requests` to that platform.
    """

    platform = ""

    def __init__(self, **settings: Any) -> None:
        self.app = create_app(**settings)
        self.transport = httpx.ASGITransport(app=self.app)
        self.http = httpx.AsyncClient(transport=self.transport, base_url=SANDBOX_ROOT)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.http.aclose()

    async def control(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        """A call to the control API (`path` under /__sandbox__), which must answer 200; its JSON."""
        response = await self.http.request(method, f"/__sandbox__{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    async def listing(self, **query: Any) -> list[dict[str, Any]]:
        """Objects as the control API lists them (platform, type, id, fields, deleted), filtered by `query`."""
        params = {"platform": self.platform, **query} if self.platform else query
        return await self.control("GET", f"/objects?{httpx.QueryParams(params)}")

    async def objects(self, type_: str, *, include_deleted: bool = False) -> dict[str, dict[str, Any]]:
        """Objects of a type, live ones unless include_deleted: id -> fields."""
        query = {"type": type_, **({"include_deleted": "1"} if include_deleted else {})}
        return {o["id"]: o["fields"] for o in await self.listing(**query)}

    async def requests(self) -> Counter[str]:
        """Requests `platform` has served so far, by method (control calls are never counted)."""
        return Counter((await self.control("GET", "/stats"))["requests"][self.platform])


class ProviderSandbox(AsyncSandbox, abc.ABC):
    """An AsyncSandbox for one platform's provider tests: a subclass sets `platform` and makes the provider."""

    @abc.abstractmethod
    def provider(self) -> Provider:
        """A new provider of `platform` whose requests go to this sandbox."""

    @classmethod
    def run(cls, scenario: Callable[[Self, Any], Awaitable[None]]) -> None:
        """asyncio.run `scenario(sandbox, provider)` on a fresh sandbox; the provider is closed after."""

        async def with_provider(sandbox: Self) -> None:
            provider = sandbox.provider()
            try:
                await scenario(sandbox, provider)
            finally:
                await provider.aclose()

        in_sandbox(with_provider, cls)


def in_sandbox(scenario: Callable[[S], Awaitable[T]], sandbox: Callable[..., S] = AsyncSandbox, **settings: Any) -> T:
    """asyncio.run `scenario` on a fresh `sandbox(**settings)`, closed after; what the scenario returns."""

    async def main() -> T:
        async with sandbox(**settings) as opened:
            return await scenario(opened)

    return asyncio.run(main())


def sandbox_target(
    name: str,
    platform: str,
    settings: dict[str, Any],
    credentials: dict[str, str],
    *,
    rate_limit: float | None = 1000.0,
    origin: str = SANDBOX_ROOT,
) -> TargetConfig:
    """A target whose API (and Snapchat's token endpoint) is the sandbox at `origin`.

    The default origin is the in-process one AsyncSandbox.transport answers for; the default
    rate limit is high so that pacing never slows a test that is not about it.
    """
    auth_url = origin + snapchat.MOUNT + snapchat.TOKEN_PATH if platform == "snapchat" else None
    return TargetConfig(
        name=name,
        platform=platform,
        settings=settings,
        credentials=credentials,
        api_base_url=origin + API_ROOTS[platform],
        auth_url=auth_url,
        rate_limit=rate_limit,
    )


@dataclass(frozen=True)
class OpBuilder:
    """Builds Operations on one target; an operation is named by the first of `name_keys` it has, else "p"."""

    target: str
    name_keys: tuple[str, ...] = ("name",)

    def __call__(
        self,
        type_: str,
        attributes: dict[str, Any],
        *,
        action: Action = Action.CREATE,
        id_: str | None = None,
        changed: tuple[str, ...] = (),
        asset: Asset | None = None,
    ) -> Operation:
        name = next((str(attributes[key]) for key in self.name_keys if key in attributes), "p")
        return Operation(f"{self.target}:{type_}/{name}", action, type_, name, attributes, id_, changed, asset)


def asset_file(directory: Path, content: bytes, name: str = "banner.png", media_type: str = "image/png") -> Asset:
    """`content` written to directory/name, described as the compiler describes an asset."""
    path = directory / name
    path.write_bytes(content)
    return Asset(str(path), hashlib.sha256(content).hexdigest(), media_type)


def leak_check(*secrets: str) -> Callable[..., None]:
    """A function asserting that none of `secrets` appears in any of the texts it is given."""

    def check(*texts: str) -> None:
        for text in texts:
            for secret in secrets:
                assert secret not in text

    return check


# --- end to end: the `reconciler` command on a project in a temporary directory ---


def write_specs(project: Path, spec: str, assets: Mapping[str, bytes]) -> None:
    """The project's specs/main.yaml, and its asset files under specs/assets."""
    (project / "specs" / "assets").mkdir(parents=True)
    for name, content in assets.items():
        (project / "specs" / "assets" / name).write_bytes(content)
    (project / "specs" / "main.yaml").write_text(spec)


class Cli:
    """`reconciler -C project ...` run in-process; none of `secrets` may appear in its output."""

    def __init__(self, capsys: pytest.CaptureFixture[str], project: Path, *, secrets: tuple[str, ...] = ()) -> None:
        self.capsys = capsys
        self.project = project
        self.assert_no_secret = leak_check(*secrets)

    def __call__(self, *args: str) -> tuple[int, str]:
        """The exit code and the output (stdout then stderr)."""
        with pytest.raises(SystemExit) as exit_:
            reconciler_main(["-C", str(self.project), *args])
        captured = self.capsys.readouterr()
        self.assert_no_secret(captured.out, captured.err)
        return int(exit_.value.code or 0), captured.out + captured.err

    def apply(self) -> str:
        """`apply --sandbox --auto-approve`, which must succeed; its output."""
        code, out = self("apply", "--sandbox", "--auto-approve")
        assert code == 0, out
        return out

    def assert_no_changes(self) -> None:
        """`plan --sandbox` from the sandbox's state alone has nothing to do."""
        code, out = self("plan", "--sandbox", "--detailed-exitcode")
        assert code == 0, out

    def assert_no_drift(self) -> None:
        """`plan --refresh --sandbox` has nothing to do: every live object reads back as recorded."""
        code, out = self("plan", "--refresh", "--sandbox", "--detailed-exitcode")
        assert code == 0, out


def saved_objects(project: Path, platform: str) -> list[StoredObject]:
    """The live objects of `platform` that the project's --sandbox runs left in their data file."""
    return Store(project / "state" / "default.emulator.json").find(platform)
