"""The sandbox ASGI app: every emulated platform under its prefix, plus /__sandbox__.

To add a platform, write a module exposing a `Platform` (name, prefix, routes,
error style) and append it to PLATFORMS: it gets the shared store, auth,
stats and its own fault scope without any change here.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Router

from reconciler.errors import ReconcilerError
from reconciler.sandbox import broadstreet, control, meta, snapchat, tiktok
from reconciler.sandbox.context import Platform, Sandbox
from reconciler.sandbox.faults import FaultMiddleware, FaultSettings

PLATFORMS: list[Platform] = [broadstreet.PLATFORM, meta.PLATFORM, snapchat.PLATFORM, tiktok.PLATFORM]


def create_app(
    data_file: Path | None = None,
    *,
    latency_ms: float = 0,
    rate_limit: float | None = None,
    fault_rate: float = 0.0,
    drop_response_rate: float = 0.0,
    video_processing_ms: float = 0.0,
    seed: int | None = None,
) -> Starlette:
    """Build a sandbox app; its shared state is `app.state.sandbox` (a context.Sandbox).

    With `data_file`, objects are loaded from it at start and saved after every write.
    """
    try:
        settings = FaultSettings(
            float(latency_ms), rate_limit, float(fault_rate), float(drop_response_rate), float(video_processing_ms)
        )
    except ValueError as exc:
        raise ReconcilerError(f"invalid sandbox setting: {exc}") from None
    sandbox = Sandbox(data_file, settings, seed)
    provisioners = {p.name: p.provision_account for p in PLATFORMS if p.provision_account is not None}
    mounts = [Mount(control.PREFIX, routes=control.routes(sandbox, [p.name for p in PLATFORMS], provisioners))]
    for platform in PLATFORMS:
        router = Router(platform.routes(sandbox))
        mounts.append(
            Mount(
                platform.mount_path,
                app=FaultMiddleware(router, platform.name, platform.errors, sandbox.faults, sandbox.stats),
            )
        )

    def http_error(request: Request, exc: Exception) -> Response:
        """Routing errors (unknown path, wrong method) in the style of the platform asked."""
        assert isinstance(exc, HTTPException)
        path = request.url.path
        platform = next((p for p in PLATFORMS if path.startswith(p.mount_path + "/")), None)
        if platform is None:
            response = JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        else:
            response = platform.errors.http_error(exc.status_code, exc.detail)
        response.headers.update(exc.headers or {})
        return response

    app = Starlette(routes=mounts, exception_handlers={HTTPException: http_error})
    app.state.sandbox = sandbox
    return app
