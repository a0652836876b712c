"""Apply throughput against the sandbox over real HTTP, and how close it gets to the lower bound.

For 1,000 and 5,000 Broadstreet resources, with 20 ms latency per request:
  (a) the sandbox limits each platform to 50 req/s and the target declares rate_limit: 50
  (b) no rate limit
each with --parallelism 10 (the default), and again with --parallelism 1.

Lower bound of a run = max(critical path, requests / rate limit, requests x latency / parallelism):
the longest chain of dependent requests, the rate limit, and what `parallelism` requests in flight
can do at that latency (Little's law; without it, case (b) would have a bound of 60 ms).

Latency: the sandbox holds each answer 20 ms, but a request also costs the sandbox's own work
(HTTP parsing, routing, its event loop's timer granularity) and the HTTP client's. So the bound
uses the round trip a bare httpx client measures on the same sandbox, one request at a time:
what no client can do better than on this machine. The efficiency against the nominal 20 ms is
shown as well.

Wall time: the apply's, from its first request to its last result (from `--events`); the
whole command (Python start-up, compiling and planning the specs, the final state snapshot) is
shown as well, and `bench/plan_scale.py` measures planning on its own.

Efficiency = bound / apply wall time (goal: >= 0.9). Also reports how many 429s the sandbox
answered (goal: 0 when the limit is known) and the apply process's peak memory (goal: < 300 MB
at 5,000).

    .venv/bin/python bench/apply_throughput.py [--sizes 1000,5000] [--skip-serial] [--only CASE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure import run_measured  # noqa: E402
from tests.e2e import TOKEN, broadstreet_project, sandbox_server  # noqa: E402

LATENCY_S = 0.020
RESOURCES_PER_CAMPAIGN = 7  # campaign, 2 advertisements, 4 placements
CRITICAL_PATH = 3  # advertiser -> advertisement -> placement
CASES = (("50 req/s", 50.0), ("no limit", None))
CALIBRATION_REQUESTS_PER_SLOT = 100


def round_trip(parallelism: int) -> float:
    """Mean seconds per create of a bare httpx client, `parallelism` requests in flight, on a fresh sandbox."""

    async def measure(url: str) -> list[float]:
        times: list[float] = []
        numbers = iter(range(CALIBRATION_REQUESTS_PER_SLOT * parallelism))
        limits = httpx.Limits(max_connections=parallelism)
        async with httpx.AsyncClient(base_url=f"{url}/broadstreet/api/1", limits=limits) as client:

            async def worker() -> None:
                for n in numbers:
                    start = time.perf_counter()
                    response = await client.post(
                        "/advertisers", params={"network_id": 85, "access_token": TOKEN}, json={"name": f"a{n}"}
                    )
                    response.json()
                    if n >= parallelism:  # the first ones open the connections
                        times.append(time.perf_counter() - start)

            await asyncio.gather(*(worker() for _ in range(parallelism)))
        return times

    with sandbox_server("--latency-ms", str(LATENCY_S * 1000)) as sandbox:
        return statistics.mean(asyncio.run(measure(sandbox.url)))


def apply_seconds(events: Path) -> float:
    """From the first op:start to apply:done."""
    records = [json.loads(line) for line in events.read_text().splitlines()]
    stamps = [datetime.fromisoformat(r["ts"].replace("Z", "+00:00")).timestamp() for r in records]
    return max(stamps) - min(stamps)


def one_run(size: int, rate_limit: float | None, parallelism: int, latency: float) -> dict[str, float]:
    serve_args = ["--latency-ms", str(LATENCY_S * 1000)]
    if rate_limit:
        serve_args += ["--rate-limit", str(rate_limit)]
    with sandbox_server(*serve_args) as sandbox, tempfile.TemporaryDirectory() as tmp:
        campaigns = max(1, (size - 3) // RESOURCES_PER_CAMPAIGN)
        # without a limit, declare one far above what the run can reach, so nothing paces it
        declared = int(rate_limit) if rate_limit else 10_000
        project = broadstreet_project(Path(tmp), sandbox.url, campaigns=campaigns, rate_limit=declared)
        text = (project / "specs" / "main.yaml").read_text()
        (project / "specs" / "main.yaml").write_text(text.replace("concurrency: 8", f"concurrency: {parallelism}"))
        events = Path(tmp) / "events.jsonl"
        result = run_measured(
            "-C", str(project), "apply", "--auto-approve", "--parallelism", str(parallelism),
            "--events", str(events), env={"BROADSTREET_API_TOKEN": TOKEN},
        )  # fmt: skip
        if result.returncode != 0:
            raise SystemExit(f"apply failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        stats = sandbox.control("GET", "stats")
        requests = sum(stats["requests"]["broadstreet"].values())
        resources = len(sandbox.objects())
        apply_wall = apply_seconds(events)

    def bound(latency: float) -> float:
        paced = requests / rate_limit if rate_limit else 0.0
        return max(CRITICAL_PATH * latency, paced, requests * latency / parallelism)

    return {
        "resources": resources,
        "requests": requests,
        "process": result.wall_s,
        "apply": apply_wall,
        "bound": bound(latency),
        "efficiency": bound(latency) / apply_wall,
        "nominal": bound(LATENCY_S) / apply_wall,
        "rate_limited": stats["rate_limited"],
        "peak_mb": result.peak_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--skip-serial", action="store_true", help="skip the --parallelism 1 comparison runs")
    parser.add_argument("--only", choices=[label for label, _ in CASES], help="run one case only")
    args = parser.parse_args()
    parallelisms = (10,) if args.skip_serial else (10, 1)
    latency = {parallelism: round_trip(parallelism) for parallelism in parallelisms}
    measured = ", ".join(f"{latency[p] * 1000:.1f} ms at parallelism {p}" for p in parallelisms)
    print(f"latency: {LATENCY_S * 1000:.0f} ms set in the sandbox; a bare httpx client measures {measured}")
    print("bound = max(critical path, requests/rate, requests x latency / parallelism); eff = bound / apply s; "
          "eff@20 = the same with the nominal 20 ms")  # fmt: skip
    header = f"{'case':<10}{'par':>4}{'resources':>10}{'requests':>9}{'process s':>10}{'apply s':>8}{'bound s':>8}"
    print(header + f"{'eff':>6}{'eff@20':>7}{'429s':>6}{'peak MB':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        for label, rate in CASES:
            if args.only and label != args.only:
                continue
            for parallelism in parallelisms:
                r = one_run(size, rate, parallelism, latency[parallelism])
                print(
                    f"{label:<10}{parallelism:>4}{r['resources']:>10}{r['requests']:>9}{r['process']:>10.2f}"
                    f"{r['apply']:>8.2f}{r['bound']:>8.2f}{r['efficiency']:>6.2f}{r['nominal']:>7.2f}"
                    f"{r['rate_limited']:>6}{r['peak_mb']:>8.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
