"""The emulated CDN: uploaded images and videos served at the URLs object reads return.

Graph returns an image's `url` and a video's `source` and `picture` on a CDN host that needs no
access token; the sandbox serves them beside the API (MOUNT/cdn/...), from the bytes it stored at
upload, so that import can download them. Deleted uploads are gone from the CDN too (UNCONFIRMED:
Meta's CDN may keep serving a deleted image for a while).
"""

from __future__ import annotations

import base64
import struct
import zlib

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from reconciler.media import image_size, media_format
from reconciler.sandbox.store import Store

NAME = "meta"
MOUNT = "/meta"
CDN = "/cdn"
BYTES = "sandbox_bytes"


def url(origin: str, kind: str, key: str) -> str:
    """Where an upload's bytes are served: kind is adimage (key ACCOUNT:HASH), advideo or picture (a video id)."""
    return f"{origin}{MOUNT}{CDN}/{kind}/{key.replace(':', '/')}"


def image_fields(data: bytes) -> dict[str, int]:
    """An image's width and height as Graph's AdImage reports them, from its header."""
    size = image_size(data)
    return {"width": size[0], "height": size[1]} if size else {}


def routes(store: Store) -> list[BaseRoute]:
    async def image(request: Request) -> Response:
        key = f"{request.path_params['account']}:{request.path_params['digest']}"
        return _serve(store, "adimage", key)

    async def video(request: Request) -> Response:
        return _serve(store, "advideo", request.path_params["id"])

    async def picture(request: Request) -> Response:
        if store.get(NAME, "advideo", request.path_params["id"]) is None:
            return _missing()
        # The sandbox makes no thumbnails: every video's picture is the same small grey frame.
        return Response(_THUMBNAIL, media_type="image/png")

    return [
        Route(CDN + "/adimage/{account}/{digest}", image, methods=["GET"]),
        Route(CDN + "/advideo/{id}", video, methods=["GET"]),
        Route(CDN + "/picture/{id}", picture, methods=["GET"]),
    ]


def _serve(store: Store, type_: str, key: str) -> Response:
    obj = store.get(NAME, type_, key)
    if obj is None or BYTES not in obj.fields:
        return _missing()
    data = base64.b64decode(obj.fields[BYTES])
    media_type = media_format(data) or "application/octet-stream"
    return Response(data, media_type=media_type, headers={"Cache-Control": "max-age=1209600"})


def _missing() -> Response:
    # A CDN answers a plain 404, not Graph's error envelope.
    return JSONResponse({"error": "not found"}, status_code=404)


def _png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


_THUMBNAIL = _png(16, 9)
