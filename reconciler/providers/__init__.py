"""Providers: one per platform, built from a target's config and the environment."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import httpx

from reconciler.model import TargetConfig
from reconciler.providers import broadstreet, meta, snapchat, tiktok
from reconciler.providers.base import ErrorClass, Provider, ProviderError
from reconciler.providers.broadstreet import BroadstreetProvider
from reconciler.providers.meta import MetaProvider
from reconciler.providers.snapchat import OAuthCredentials, SnapchatProvider
from reconciler.providers.tiktok import TikTokProvider

ProviderFactory = Callable[[TargetConfig, Mapping[str, str], httpx.AsyncBaseTransport | None], Provider]


def env_secret(target: TargetConfig, environ: Mapping[str, str], credential: str) -> str:
    """The value of the env var that `target.credentials[credential]` names; the value is never shown."""
    var = target.credentials.get(credential)
    if not var:
        raise ProviderError(ErrorClass.AUTH, f"target {target.name} has no credentials.{credential}")
    value = environ.get(var, "")
    if not value:
        raise ProviderError(ErrorClass.AUTH, f"environment variable {var} is not set (target {target.name})")
    return value


def _broadstreet(
    target: TargetConfig, environ: Mapping[str, str], transport: httpx.AsyncBaseTransport | None
) -> Provider:
    return BroadstreetProvider(target, env_secret(target, environ, "token_env"), transport=transport)


def _meta(target: TargetConfig, environ: Mapping[str, str], transport: httpx.AsyncBaseTransport | None) -> Provider:
    return MetaProvider(target, env_secret(target, environ, "token_env"), transport=transport)


def _snapchat(target: TargetConfig, environ: Mapping[str, str], transport: httpx.AsyncBaseTransport | None) -> Provider:
    token_var = target.credentials.get("token_env")  # optional: a current access token, renewed when refused
    credentials = OAuthCredentials(
        refresh_token=env_secret(target, environ, "refresh_token_env"),
        client_id=env_secret(target, environ, "client_id_env"),
        client_secret=env_secret(target, environ, "client_secret_env"),
        access_token=(environ.get(token_var) or None) if token_var else None,
    )
    return SnapchatProvider(target, credentials, transport=transport)


def _tiktok(target: TargetConfig, environ: Mapping[str, str], transport: httpx.AsyncBaseTransport | None) -> Provider:
    return TikTokProvider(target, env_secret(target, environ, "token_env"), transport=transport)


# platform -> factory; meta, tiktok and snapchat join here as their providers land.
PROVIDERS: dict[str, ProviderFactory] = {
    "broadstreet": _broadstreet,
    "meta": _meta,
    "snapchat": _snapchat,
    "tiktok": _tiktok,
}


# The URL a provider talks to when its target sets no api_base_url.
DEFAULT_ENDPOINTS = {
    "broadstreet": broadstreet.DEFAULT_BASE_URL,
    "meta": meta.DEFAULT_BASE_URL,
    "snapchat": snapchat.DEFAULT_BASE_URL,
    "tiktok": tiktok.DEFAULT_BASE_URL,
}


def endpoint_of(target: TargetConfig) -> str:
    """The URL the provider of `target` talks to."""
    return target.api_base_url or DEFAULT_ENDPOINTS.get(target.platform, f"unknown-platform:{target.platform}")


def provider_from_target(
    target: TargetConfig,
    environ: Mapping[str, str],
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Provider:
    """The provider for `target`, its credentials read from `environ`.

    `transport` replaces the network (e.g. httpx.ASGITransport of the in-process sandbox).
    """
    factory = PROVIDERS.get(target.platform)
    if factory is None:
        known = ", ".join(sorted(PROVIDERS))
        raise ProviderError(
            ErrorClass.VALIDATION,
            f"no provider for platform {target.platform!r} yet (target {target.name}; available: {known})",
        )
    return factory(target, environ, transport)
