"""Refresh and import at scale: requests per recorded object and wall time, over real HTTP.

For 1,000 and 5,000 recorded objects on Broadstreet and on Meta (one platform at a time):
  1. the objects are applied through `reconciler apply` (setup: rate limit lifted, no latency);
  2. the sandbox then answers every request after 20 ms, and the target goes back to its
     platform's default rate limit (Broadstreet 10 req/s, Meta 20 req/s);
  3. `reconciler plan --refresh --detailed-exitcode` is timed, and the GETs it sent counted with
     the sandbox's /__sandbox__/stats;
  4. `reconciler import` into an empty project (the target only) is timed and counted the same
     way, then `reconciler plan --detailed-exitcode` there must exit 0 (nothing left to do).

Goal (issue 9): at most one request per 50 objects, and a 5,000-object refresh under 15 s.
Broadstreet's /api/1 lists placements only by campaign (`/placements?campaign_id=`, research
platform-apis.md 1.3), so its floor is one request per campaign: the shape here, two text ads in
two zones per campaign, is seven objects per campaign.

    .venv/bin/python bench/refresh_scale.py [--sizes 1000,5000] [--platforms broadstreet,meta]
"""

from __future__ import annotations

import argparse
import re
import struct
import sys
import tempfile
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure import run_measured  # noqa: E402
from tests.e2e import TOKEN, Sandbox, broadstreet_project, sandbox_server  # noqa: E402

LATENCY_MS = 20
BROADSTREET_PER_CAMPAIGN = 7  # campaign, 2 advertisements, 4 placements
META_CREATIVES = 3
META_PER_CAMPAIGN = 2 + 3 * META_CREATIVES  # campaign, ad set; per creative an image, a creative, an ad
ENV = {"BROADSTREET_API_TOKEN": TOKEN, "META_ACCESS_TOKEN": TOKEN}
META_TARGET = (
    "kind: Target\nname: meta-main\nplatform: meta\nad_account_id: act_1234567890\npage_id: '998877'\n"
    "api_base_url: {url}/meta/v26.0\n{limit}concurrency: 16\ncredentials: {{token_env: META_ACCESS_TOKEN}}\n"
)


def png(n: int) -> bytes:
    """A distinct 1x1 PNG per n (its colour)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    pixel = bytes([0]) + n.to_bytes(3, "big")
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(pixel)) + chunk(b"IEND", b"")


def meta_project(directory: Path, url: str, campaigns: int) -> Path:
    specs = directory / "specs"
    (specs / "assets").mkdir(parents=True)
    (directory / "state").mkdir()
    docs = [
        META_TARGET.format(url=url, limit="rate_limit: 10000\n"),
        "kind: Advertiser\nname: acme\ndisplay_name: ACME\n",
    ]
    for n in range(campaigns):
        names = [f"c{n}-{k}" for k in range(META_CREATIVES)]
        for k, name in enumerate(names):
            (specs / "assets" / f"{name}.png").write_bytes(png(n * META_CREATIVES + k + 1))
            docs.append(
                f"kind: Creative\nname: {name}\nadvertiser: acme\nformat: image/png\nsize: 1x1\n"
                f"asset: assets/{name}.png\nclick_url: https://acme.example/{name}\n"
            )
        docs.append(
            f"kind: Campaign\nname: camp{n}\nadvertiser: acme\nstart_date: 2026-06-01\nend_date: 2026-08-31\n"
            f"targets: [meta-main]\ncreatives: [{', '.join(names)}]\nbudget: {{daily: 20.00, currency: USD}}\n"
            "audience: {countries: [US]}\n"
        )
    (specs / "main.yaml").write_text("---\n".join(docs))
    return directory


def setup(platform: str, directory: Path, url: str, size: int) -> Path:
    if platform == "broadstreet":
        campaigns = max(1, (size - 3) // BROADSTREET_PER_CAMPAIGN)
        project = broadstreet_project(directory, url, campaigns=campaigns, rate_limit=10_000)
        # Text ads, not html: Broadstreet reads html back only as an embed script, so import skips html ads.
        spec = project / "specs" / "main.yaml"
        html_ad = r"format: text/html\nsize: 300x250\nhtml: '<b>([^<]*)</b>'"
        text = re.sub(html_ad, r"format: text/plain\nsize: 300x250\ntext: '\1'", spec.read_text())
        spec.write_text(text)
        return project
    return meta_project(directory, url, campaigns=max(1, (size - 1) // META_PER_CAMPAIGN))


def at_default_limit(project: Path) -> None:
    """The target without its rate_limit line: the platform's default limit applies."""
    spec = project / "specs" / "main.yaml"
    spec.write_text("".join(line for line in spec.read_text().splitlines(True) if not line.startswith("rate_limit:")))


def targets_only(directory: Path, source: Path) -> Path:
    """An empty project holding the first document of `source` (its Target), for the import."""
    (directory / "specs").mkdir(parents=True)
    (directory / "state").mkdir()
    target = (source / "specs" / "main.yaml").read_text().split("---\n")[0]
    (directory / "specs" / "targets.yaml").write_text(target)
    return directory


def gets(sandbox: Sandbox, platform: str) -> int:
    return sandbox.control("GET", "stats")["requests"].get(platform, {}).get("GET", 0)


def timed(sandbox: Sandbox, platform: str, *args: str) -> tuple[int, float, int]:
    """(exit code, seconds, GETs sent) of one reconciler command."""
    before = gets(sandbox, platform)
    result = run_measured(*args, env=ENV)
    if result.returncode not in (0, 2):
        raise SystemExit(f"reconciler {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result.returncode, result.wall_s, gets(sandbox, platform) - before


def one(platform: str, size: int, with_import: bool = True) -> dict[str, float]:
    with sandbox_server() as sandbox, tempfile.TemporaryDirectory() as tmp:
        project = setup(platform, Path(tmp) / "applied", sandbox.url, size)
        result = run_measured("-C", str(project), "apply", "--auto-approve", env=ENV)
        if result.returncode != 0:
            raise SystemExit(f"setup apply failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        recorded = len(run_measured("-C", str(project), "state", "list", env=ENV).stdout.splitlines())
        at_default_limit(project)
        sandbox.control("POST", "faults", json={"latency_ms": LATENCY_MS})
        code, refresh_s, refresh_gets = timed(sandbox, platform, "-C", str(project), "plan", "--refresh",
                                              "--detailed-exitcode")  # fmt: skip
        import_s, import_gets, imported, plan_exit = 0.0, 0, 0, -1
        if with_import:
            empty = targets_only(Path(tmp) / "imported", project)
            _, import_s, import_gets = timed(sandbox, platform, "-C", str(empty), "import")
            plan_exit = run_measured("-C", str(empty), "plan", "--detailed-exitcode", env=ENV).returncode
            imported = len(run_measured("-C", str(empty), "state", "list", env=ENV).stdout.splitlines())
    return {
        "recorded": recorded,
        "refresh_gets": refresh_gets,
        "refresh_s": refresh_s,
        "refresh_exit": code,
        "import_gets": import_gets,
        "import_s": import_s,
        "imported": imported,
        "plan_exit": plan_exit,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--platforms", default="broadstreet,meta")
    parser.add_argument("--skip-import", action="store_true", help="measure the refresh only")
    args = parser.parse_args()
    print(f"sandbox latency {LATENCY_MS} ms per request; each target at its platform's default rate limit")
    print(f"{'platform':<12}{'recorded':>9}{'refresh GETs':>13}{'per obj':>8}{'refresh s':>10}{'exit':>5}"
          f"{'import GETs':>12}{'per obj':>8}{'import s':>9}{'imported':>9}{'plan exit':>10}")  # fmt: skip
    for size in (int(s) for s in args.sizes.split(",")):
        for platform in args.platforms.split(","):
            r = one(platform, size, with_import=not args.skip_import)
            print(
                f"{platform:<12}{r['recorded']:>9}{r['refresh_gets']:>13}{r['refresh_gets'] / r['recorded']:>8.3f}"
                f"{r['refresh_s']:>10.2f}{r['refresh_exit']:>5}{r['import_gets']:>12}"
                f"{r['import_gets'] / max(1, r['imported']):>8.3f}{r['import_s']:>9.2f}{r['imported']:>9}"
                f"{r['plan_exit']:>10}",
                flush=True,
            )


if __name__ == "__main__":
    main()
