"""How plan time and memory grow with the size of a project.

Generates spec sets of about 1k, 10k and 50k resources (campaigns on a
Broadstreet and a Meta target, two image creatives each, placements in
zones), then runs `reconciler plan` cold in a fresh process, twice per size:
against an empty state (everything to create) and against a state that
matches the specs (everything noop, the everyday case). Prints wall time,
peak memory (max RSS of the process), time per resource, and growth ratios.

Goal (issue 2): 10k resources in under 1.5 s and 250 MB, growth close to linear.

    .venv/bin/python bench/plan_scale.py [--sizes 1000,10000,50000]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.measure import run_measured  # noqa: E402
from tests.conftest import png_bytes  # noqa: E402  (a valid tiny PNG)

RESOURCES_PER_CAMPAIGN = 15  # bs: campaign, 2 ads, 4 placements; meta: campaign, adset, 2 images, 2 creatives, 2 ads


def write_project(directory: Path, resources: int) -> int:
    campaigns = max(1, resources // RESOURCES_PER_CAMPAIGN)
    specs = directory / "specs"
    (specs / "assets").mkdir(parents=True)
    (directory / "state").mkdir()
    header = [
        "kind: Target\nname: bs-main\nplatform: broadstreet\nnetwork_id: 85\n"
        "credentials: {token_env: BROADSTREET_API_TOKEN}\n",
        "kind: Target\nname: meta-us\nplatform: meta\nad_account_id: act_1234567890\npage_id: '42'\n"
        "credentials: {token_env: META_ACCESS_TOKEN}\n",
        "kind: Zone\nname: zone-a\ntarget: bs-main\ndisplay_name: Zone A\nalias: zone-a\n",
        "kind: Zone\nname: zone-b\ntarget: bs-main\ndisplay_name: Zone B\nalias: zone-b\n",
    ]
    (specs / "targets.yaml").write_text("---\n".join(header))
    advertisers = max(1, campaigns // 50)
    for number in range(advertisers):
        (specs / "assets" / f"img-{number}.png").write_bytes(png_bytes(number))
    docs = [
        f"kind: Advertiser\nname: adv-{n}\ndisplay_name: Advertiser {n}\nweb_home_url: https://adv{n}.example\n"
        for n in range(advertisers)
    ]
    for n in range(campaigns):
        advertiser = n % advertisers
        for k in ("a", "b"):
            docs.append(
                f"kind: Creative\nname: cr-{n}-{k}\nadvertiser: adv-{advertiser}\nformat: image/png\nsize: 728x90\n"
                f"asset: assets/img-{advertiser}.png\nclick_url: https://adv{advertiser}.example/{n}/{k}\n"
                f"headline: Offer {n}\n"
            )
        docs.append(
            f"kind: Campaign\nname: camp-{n}\nadvertiser: adv-{advertiser}\nstart_date: 2026-06-01\n"
            f"end_date: 2026-08-31\ntargets: [bs-main, meta-us]\ncreatives: [cr-{n}-a, cr-{n}-b]\n"
            "budget: {daily: 25.00, currency: USD}\naudience: {countries: [US], age_min: 21}\n"
        )
        for k in ("a", "b"):
            for zone in ("zone-a", "zone-b"):
                docs.append(f"kind: Placement\ncampaign: camp-{n}\ncreative: cr-{n}-{k}\nzone: {zone}\n")
    (specs / "campaigns.yaml").write_text("---\n".join(docs))
    return campaigns


def record_matching_state(directory: Path) -> int:
    """Write a state file as if the specs had been applied (ids made up)."""
    from reconciler.model import resolve_refs
    from reconciler.project import Project

    plan = Project(directory).plan()
    ids: dict[str, str] = {}
    resources = {}
    for number, change in enumerate(plan.changes):
        desired = change.desired
        assert desired is not None
        ids[change.address] = str(100000 + number)
        attributes, _ = resolve_refs(desired.attributes, desired.refs, ids.get)
        resources[change.address] = {
            "id": ids[change.address],
            "type": change.type,
            "target": change.target,
            "attributes": attributes,
            "depends_on": list(desired.depends_on),
        }
    state = {
        "format_version": 1,
        "lineage": "00000000-0000-4000-8000-000000000000",
        "serial": 1,
        "resources": resources,
        "pending": {},
    }
    (directory / "state" / "default.json").write_text(json.dumps(state, indent=2, sort_keys=True))
    return len(resources)


def run_plan(directory: Path) -> tuple[float, float, str]:
    """Wall seconds and peak MB of one cold `reconciler plan` process; its summary line."""
    result = run_measured("-C", str(directory), "plan")
    if result.returncode != 0:
        raise SystemExit(f"plan failed:\n{result.stderr}")
    return result.wall_s, result.peak_mb, result.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,50000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"{'resources':>9} {'state':>6} {'wall s':>7} {'peak MB':>8} {'us/res':>7}  plan")
    rows: list[tuple[int, str, float]] = []
    for size in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            directory = Path(tmp)
            write_project(directory, size)
            for label in ("empty", "full"):
                if label == "full":
                    count = record_matching_state(directory)
                wall, peak, summary = run_plan(directory)
                if label == "empty":
                    count = int(summary.split()[1]) if summary.startswith("Plan:") else 0
                rows.append((count, label, wall))
                print(f"{count:>9} {label:>6} {wall:>7.2f} {peak:>8.0f} {wall / count * 1e6:>7.0f}  {summary}")
    print("\ngrowth (time ratio / size ratio; 1.0 = linear):")
    for label in ("empty", "full"):
        series = [(c, w) for c, lbl, w in rows if lbl == label]
        for (c0, w0), (c1, w1) in zip(series, series[1:], strict=False):
            time_ratio, size_ratio = w1 / w0, c1 / c0
            print(f"  {label:>5} {c0:>6} -> {c1:>6}: time x{time_ratio:.1f} for size x{size_ratio:.1f}"
                  f" = {time_ratio / size_ratio:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
