"""One ASGI app emulating the ad platforms' APIs plus the /__sandbox__ control API."""

from reconciler.sandbox.app import PLATFORMS, create_app

__all__ = ["PLATFORMS", "create_app"]
