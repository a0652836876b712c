"""What an uploaded file's own bytes say: its format and its pixel size (no decoding, headers only).

Import needs a Creative's `format` and `size`, which a platform does not always report (a Meta ad
video has no width or height field) and the file itself does; the sandbox reports them as the
platforms do. One reader for both.
"""

from __future__ import annotations

import struct

_IMAGE_MAGIC = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}
EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "video/mp4": ".mp4",
    "video/quicktime": ".mov",
}
# JPEG start-of-frame markers (baseline, progressive, ...), which carry the size; not DHT/JPG/DAC.
_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# MP4 boxes that hold other boxes on the way to a track header.
_CONTAINERS = frozenset({b"moov", b"trak"})


def media_format(data: bytes) -> str | None:
    """The media type of an image or video file from its first bytes; None when not one we show."""
    for magic, media_type in _IMAGE_MAGIC.items():
        if data.startswith(magic):
            return media_type
    if data[4:8] == b"ftyp":
        return "video/quicktime" if data[8:12] == b"qt  " else "video/mp4"
    if data[4:8] in (b"moov", b"mdat", b"wide", b"free"):
        return "video/quicktime"  # an old QuickTime file starts with a bare atom
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, GIF or JPEG from its header; None when the header does not say."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"\xff\xd8"):
        return _jpeg_size(data)
    return None


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """From the first start-of-frame segment, walking the segments before it."""
    i = 2
    while i + 9 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            i += 2
            continue
        if marker == 0xDA:  # start of scan: the image data follows, with no frame header before it
            return None
        length = struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in _SOF:
            height, width = struct.unpack(">HH", data[i + 5 : i + 9])
            return width, height
        i += 2 + length
    return None


def video_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of an MP4 / QuickTime video from its first track header with a picture."""
    return _find_tkhd(data, 0, len(data))


def _find_tkhd(data: bytes, start: int, end: int) -> tuple[int, int] | None:
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        header = 8
        if size == 1 and i + 16 <= end:  # 64-bit size
            size, header = struct.unpack(">Q", data[i + 8 : i + 16])[0], 16
        elif size == 0:
            size = end - i
        if size < header or i + size > end:
            return None
        if kind in _CONTAINERS:
            found = _find_tkhd(data, i + header, i + size)
            if found:
                return found
        elif kind == b"tkhd":
            body = data[i + header : i + size]
            # Width and height are the last 8 bytes, 16.16 fixed point; audio tracks have 0 x 0.
            if len(body) >= 84:
                width, height = struct.unpack(">II", body[-8:])
                if width >> 16 and height >> 16:
                    return width >> 16, height >> 16
        i += size
    return None


def pixel_size(data: bytes, media_type: str) -> str | None:
    """'WIDTHxHEIGHT' (as a Creative's `size`) of an image or video of `media_type`; None when unreadable."""
    found = video_size(data) if media_type.startswith("video/") else image_size(data)
    if found is None or not all(0 < n < 100_000 for n in found):
        return None
    return f"{found[0]}x{found[1]}"
