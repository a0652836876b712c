"""Apply throughput against the sandbox over real HTTP, and how close it gets to the lower bound.

For 1,000 and 5,000 Broadstreet resources, with 20 ms latency per request:
  (a) the sandbox limits each platform to 50 req/s and the target declares rate_limit: 50
  (b) no rate limit
each with --parallelism 10 (the default), and again with --parallelism 1.

Lower bound of a run = max(critical path, requests / rate limit, requests x latency / concurrency):
the longest chain of dependent requests, the rate limit, and what `concurrency` requests in flight
can do at that latency (Little's law). Efficiency = bound / wall time (goal: >= 0.9). Also reports
how many 429s the sandbox answered (goal: 0 when the limit is known) and the apply process's peak memory
(goal: < 300 MB at 5,000).

    .venv/bin/python bench/apply_throughput.py [--sizes 1000,5000] [--skip-serial]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure import run_measured  # noqa: E402
from tests.e2e import TOKEN, broadstreet_project, sandbox_server  # noqa: E402

LATENCY_S = 0.020
RESOURCES_PER_CAMPAIGN = 7  # campaign, 2 advertisements, 4 placements
CRITICAL_PATH = 3  # advertiser -> advertisement -> placement
CASES = (("50 req/s", 50.0), ("no limit", None))


def one_run(size: int, rate_limit: float | None, parallelism: int) -> dict[str, float]:
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
        result = run_measured(
            "-C", str(project), "apply", "--auto-approve", "--parallelism", str(parallelism),
            env={"BROADSTREET_API_TOKEN": TOKEN},
        )  # fmt: skip
        if result.returncode != 0:
            raise SystemExit(f"apply failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
        stats = sandbox.control("GET", "stats")
        requests = sum(stats["requests"]["broadstreet"].values())
        resources = len(sandbox.objects())
    bound = max(
        CRITICAL_PATH * LATENCY_S,
        requests / rate_limit if rate_limit else 0.0,
        requests * LATENCY_S / parallelism,
    )
    return {
        "resources": resources,
        "requests": requests,
        "wall": result.wall_s,
        "bound": bound,
        "efficiency": bound / result.wall_s,
        "rate_limited": stats["rate_limited"],
        "peak_mb": result.peak_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--skip-serial", action="store_true", help="skip the --parallelism 1 comparison runs")
    parser.add_argument("--only", choices=[label for label, _ in CASES], help="run one case only")
    args = parser.parse_args()
    print(f"latency {LATENCY_S * 1000:.0f} ms per request; bound = max(critical path, requests/rate, "
          "requests x latency / parallelism)")  # fmt: skip
    header = f"{'case':<14}{'par':>4}{'resources':>10}{'requests':>9}{'wall s':>8}{'bound s':>8}{'eff':>6}"
    print(header + f"{'429s':>6}{'peak MB':>8}")
    for size in (int(s) for s in args.sizes.split(",")):
        for label, rate in CASES:
            if args.only and label != args.only:
                continue
            for parallelism in (10,) if args.skip_serial else (10, 1):
                r = one_run(size, rate, parallelism)
                print(
                    f"{label:<14}{parallelism:>4}{r['resources']:>10}{r['requests']:>9}{r['wall']:>8.2f}"
                    f"{r['bound']:>8.2f}{r['efficiency']:>6.2f}{r['rate_limited']:>6}{r['peak_mb']:>8.0f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
