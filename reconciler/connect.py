"""Open one provider per target, against the real APIs or the in-process sandbox."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import AsyncIterator, Iterable, Mapping

import httpx
from starlette.types import ASGIApp

from reconciler.model import TargetConfig
from reconciler.providers import provider_from_target
from reconciler.providers.base import Provider

SANDBOX_ROOT = "http://sandbox.invalid"  # never resolved: requests go to the in-process app
SANDBOX_TOKEN = "sandbox-token"  # the sandbox accepts any non-empty token


@dataclasses.dataclass(frozen=True)
class Connection:
    """Where providers send their requests."""

    targets: dict[str, TargetConfig]
    environ: Mapping[str, str]
    transport: httpx.AsyncBaseTransport | None = None


def live(targets: Mapping[str, TargetConfig], environ: Mapping[str, str]) -> Connection:
    return Connection(dict(targets), environ)


def sandbox(targets: Mapping[str, TargetConfig], environ: Mapping[str, str], app: ASGIApp) -> Connection:
    """Every target pointed at the sandbox `app`, called in-process.

    Credentials that are not set get a placeholder, so the quickstart needs no secrets.
    """
    from reconciler.sandbox import PLATFORMS

    prefixes = {platform.name: platform.prefix for platform in PLATFORMS}
    pointed = {}
    overlay = dict(environ)
    for name, target in targets.items():
        auth_url = f"{SANDBOX_ROOT}/snapchat/login/oauth2/access_token" if target.platform == "snapchat" else None
        pointed[name] = dataclasses.replace(
            target, api_base_url=SANDBOX_ROOT + prefixes[target.platform], auth_url=auth_url
        )
        for variable in target.credentials.values():
            overlay.setdefault(variable, SANDBOX_TOKEN)
    return Connection(pointed, overlay, httpx.ASGITransport(app=app))


@contextlib.asynccontextmanager
async def open_providers(connection: Connection, names: Iterable[str]) -> AsyncIterator[dict[str, Provider]]:
    """Providers for the named targets, closed on exit."""
    providers: dict[str, Provider] = {}
    try:
        for name in sorted(set(names)):
            providers[name] = provider_from_target(
                connection.targets[name], connection.environ, transport=connection.transport
            )
        yield providers
    finally:
        for provider in providers.values():
            await provider.aclose()
