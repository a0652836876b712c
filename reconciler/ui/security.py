"""Who may use the dashboard.

- It listens on 127.0.0.1 by default; any other address needs RECONCILER_UI_TOKEN, and then
  every request needs `Authorization: Bearer TOKEN` or the session cookie the login form sets.
  The cookie holds an HMAC of the token under a key made at start, never the token itself.
- On a loopback address the Host header must name it too, so a page elsewhere cannot reach
  the dashboard by DNS rebinding (a name of its own resolved to 127.0.0.1).
- A state-changing request (any method but GET and HEAD) that a browser sends carries an Origin
  (or at least a Referer): it must be the dashboard's own, so no other site can start an apply.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from reconciler.errors import ReconcilerError

TOKEN_ENV = "RECONCILER_UI_TOKEN"
COOKIE = "reconciler_ui_session"
OPEN_PATHS = ("/login", "/static/")  # the login form and its stylesheet: nothing there is private
SAFE_METHODS = ("GET", "HEAD")
_LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    if host.strip("[]") in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: it may resolve anywhere


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token."""
    if not is_loopback(host) and not token:
        raise ReconcilerError(
            f"reconciler ui: refusing to listen on {host} without {TOKEN_ENV}: anyone who can reach it could "
            f"apply. Set {TOKEN_ENV} to a long random value (e.g. `export {TOKEN_ENV}=$(openssl rand -hex 32)`), "
            "or listen on 127.0.0.1 (the default)"
        )


class Guard:
    """ASGI middleware enforcing the rules above; `token` None means no login (loopback only)."""

    def __init__(self, app: ASGIApp, *, token: str | None, bind_host: str) -> None:
        self.app = app
        self.token = token
        self.bind_host = bind_host
        self._key = secrets.token_bytes(32)  # sessions end when the dashboard restarts

    def session_value(self) -> str:
        assert self.token is not None
        return hmac.new(self._key, self.token.encode(), hashlib.sha256).hexdigest()

    def token_matches(self, given: str) -> bool:
        return self.token is not None and hmac.compare_digest(given.encode(), self.token.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(Request(scope))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self, request: Request) -> Response | None:
        host = request.headers.get("host", "")
        if self.token is None and not is_loopback(urlsplit(f"//{host}").hostname or ""):
            return PlainTextResponse(f"this dashboard answers on {self.bind_host} only", status_code=421)
        if request.method not in SAFE_METHODS and not _same_origin(request):
            return JSONResponse({"error": "cross-origin request refused: the dashboard takes state-changing "
                                          "requests from its own pages only"}, status_code=403)  # fmt: skip
        if self.token is None or request.url.path.startswith(OPEN_PATHS) or self._authenticated(request):
            return None
        if request.method in SAFE_METHODS and "text/html" in request.headers.get("accept", ""):
            return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
        return JSONResponse({"error": f"authentication required: send Authorization: Bearer ${TOKEN_ENV}, or "
                                      "log in at /login"}, status_code=401)  # fmt: skip

    def _authenticated(self, request: Request) -> bool:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and self.token_matches(given.strip()):
            return True
        cookie = request.cookies.get(COOKIE, "")
        return bool(cookie) and hmac.compare_digest(cookie.encode(), self.session_value().encode())


def _same_origin(request: Request) -> bool:
    """The Origin (else the Referer) names this very dashboard; neither: not a browser (curl, a script)."""
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    origin = request.headers.get("origin")
    if origin is not None:
        return origin == own
    referer = request.headers.get("referer")
    if referer is not None:
        parts = urlsplit(referer)
        return f"{parts.scheme}://{parts.netloc}" == own
    return True


def safe_next(path: str) -> str:
    """Where the login form sends you back: a path of this dashboard only, never another site."""
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"
