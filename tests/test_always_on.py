"""Always-on campaigns (no end_date) on every platform: compiled, applied, cleared, refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests import provider_kit as kit
from tests import test_sandbox_meta as meta
from tests import test_sandbox_snapchat as snap
from tests import test_sandbox_tiktok as tiktok
from tests.conftest import SPECS, png_bytes

ENV = ("BROADSTREET_API_TOKEN", "META_ACCESS_TOKEN", "TIKTOK_ACCESS_TOKEN", "SNAP_REFRESH", "SNAP_ID", "SNAP_SECRET")


def spec(end: str | None, budget: str = "daily: 50.00") -> str:
    """The shared four-platform project, its campaign ending on `end` (always on when None)."""
    text = SPECS.replace("budget: {daily: 50.00", "budget: {" + budget)
    return text.replace("end_date: 2026-08-31\n", f"end_date: {end}\n" if end else "")


@pytest.fixture
def reconciler(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> kit.Cli:
    for variable in ENV:
        monkeypatch.delenv(variable, raising=False)  # --sandbox fills in placeholders
    return kit.Cli(capsys, tmp_path)


def flights(project: Path) -> dict[str, dict[str, Any]]:
    """The schedule fields of the live objects that carry a campaign's flight, per platform and type."""
    wanted = {
        ("broadstreet", "campaign"): ("start_date", "end_date"),
        ("meta", "adset"): ("start_time", "end_time"),
        ("tiktok", "adgroup"): ("schedule_type", "schedule_start_time", "schedule_end_time"),
        ("snapchat", "campaign"): ("start_time", "end_time"),
        ("snapchat", "adsquad"): ("start_time", "end_time"),
    }
    out = {}
    for platform in ("broadstreet", "meta", "tiktok", "snapchat"):
        for obj in kit.saved_objects(project, platform):
            keys = wanted.get((platform, obj.type))
            if keys:
                out[f"{platform}.{obj.type}"] = {k: obj.fields.get(k) for k in keys if obj.fields.get(k) is not None}
    return out


ALWAYS_ON = {
    "broadstreet.campaign": {"start_date": "2026-06-01"},
    "meta.adset": {"start_time": "2026-06-01T00:00:00+0000"},
    "tiktok.adgroup": {"schedule_type": "SCHEDULE_FROM_NOW", "schedule_start_time": "2026-06-01 00:00:00"},
    "snapchat.campaign": {"start_time": "2026-06-01T00:00:00.000Z"},
    "snapchat.adsquad": {"start_time": "2026-06-01T00:00:00.000Z"},
}


def test_an_always_on_campaign_applies_everywhere_and_converges(tmp_path: Path, reconciler: kit.Cli) -> None:
    kit.write_specs(tmp_path, spec(None), {"banner.png": png_bytes(1)})
    reconciler.apply()
    assert flights(tmp_path) == ALWAYS_ON
    reconciler.assert_no_changes()
    reconciler.assert_no_drift()

    # Giving it an end later is an update in place on every platform.
    (tmp_path / "specs" / "main.yaml").write_text(spec("2026-08-31"))
    code, out = reconciler("plan", "--sandbox", "--detailed-exitcode")
    assert code == 2 and "Plan: 0 to create, 5 to update, 0 to replace, 0 to delete." in out, out
    reconciler.apply()
    assert flights(tmp_path)["tiktok.adgroup"]["schedule_end_time"] == "2026-08-31 23:59:59"
    assert flights(tmp_path)["meta.adset"]["end_time"] == "2026-08-31T23:59:59+0000"
    reconciler.assert_no_drift()


def test_removing_the_end_date_clears_it_on_every_platform(tmp_path: Path, reconciler: kit.Cli) -> None:
    kit.write_specs(tmp_path, spec("2026-08-31"), {"banner.png": png_bytes(1)})
    reconciler.apply()
    assert all(
        any(k.startswith("end") or k == "schedule_end_time" for k in fields) for fields in flights(tmp_path).values()
    )

    (tmp_path / "specs" / "main.yaml").write_text(spec(None))
    code, out = reconciler("plan", "--sandbox", "--detailed-exitcode")
    assert code == 2 and "Plan: 0 to create, 5 to update, 0 to replace, 0 to delete." in out, out
    reconciler.apply()
    # The end is gone on the platform, not merely unmanaged (TikTok runs on from its start).
    assert {key: {k: v for k, v in f.items() if k != "schedule_end_time"} for key, f in flights(tmp_path).items()} == (
        ALWAYS_ON
    )
    reconciler.assert_no_changes()
    reconciler.assert_no_drift()


def test_a_lifetime_budget_without_end_date_is_a_spec_error(tmp_path: Path, reconciler: kit.Cli) -> None:
    text = spec(None, budget="lifetime: 900.00")
    kit.write_specs(tmp_path, text, {"banner.png": png_bytes(1)})
    code, out = reconciler("plan")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.startswith("budget:"))
    assert code == 1 and "Traceback" not in out, out
    assert f"specs/main.yaml:{line}" in out and "budget.lifetime" in out, out
    assert "needs an end_date on meta, snapchat, tiktok" in out, out
    assert text.count("budget:") == 1
    assert not (tmp_path / "state" / "default.json").exists()

    # Broadstreet has no budgets: there a lifetime budget needs no end.
    broadstreet_only = text.replace("[bs-main, meta-us, tiktok-us, snap-us]", "[bs-main]")
    (tmp_path / "specs" / "main.yaml").write_text(broadstreet_only)
    code, out = reconciler("plan")
    assert code == 0, out


# --- each emulator refuses what its platform refuses ---


def test_meta_refuses_a_lifetime_budget_on_an_ongoing_adset() -> None:
    async def scenario(g: meta.Graph) -> None:
        campaign = await g.campaign()
        body = meta._adset_body(campaign, daily_budget=None, lifetime_budget=90000, end_time=0)
        error = await g.error("POST", f"/{meta.ACCOUNT}/adsets", json=body)
        assert (error["code"], error["error_user_msg"]) == (100, "A lifetime_budget needs end_time.")
        lifetime = (await g.ok("POST", f"/{meta.ACCOUNT}/adsets", json={**body, "end_time": "2026-08-31"}))["id"]
        error = await g.error("POST", f"/{lifetime}", json={"end_time": 0})
        assert error["error_user_msg"] == "A lifetime_budget needs end_time."
        ongoing = (await g.ok("POST", f"/{meta.ACCOUNT}/adsets", json=meta._adset_body(campaign, end_time=0)))["id"]
        assert "end_time" not in await g.ok("GET", f"/{ongoing}", {"fields": "end_time,start_time"})

    meta.run(scenario)


def test_tiktok_refuses_a_total_budget_without_an_end() -> None:
    async def scenario(sb: tiktok.Sandbox) -> None:
        campaign = await sb.campaign()
        body = tiktok.adgroup_body(campaign, budget_mode="BUDGET_MODE_TOTAL", budget=900.0)
        from_now = {k: v for k, v in body.items() if k != "schedule_end_time"} | {"schedule_type": "SCHEDULE_FROM_NOW"}
        code, message = await sb.error("POST", "/adgroup/create/", json=from_now)
        assert code == 40002 and "must be SCHEDULE_START_END when budget_mode is BUDGET_MODE_TOTAL" in message
        adgroup = (await sb.ok("POST", "/adgroup/create/", json={**body, "adgroup_name": "total"}))["adgroup_id"]
        update = {"advertiser_id": tiktok.ADV, "adgroup_id": adgroup, "schedule_type": "SCHEDULE_FROM_NOW"}
        code, message = await sb.error("POST", "/adgroup/update/", json=update)
        assert code == 40002 and "BUDGET_MODE_TOTAL" in message
        daily = {**from_now, "budget_mode": "BUDGET_MODE_DAY", "adgroup_name": "daily"}
        assert (await sb.ok("POST", "/adgroup/create/", json=daily))["adgroup_id"]

    tiktok.run(scenario)


def test_snapchat_refuses_a_lifetime_budget_without_an_end() -> None:
    async def scenario(sb: snap.Sandbox) -> None:
        campaign_id = (await sb.campaign())["id"]
        path = f"campaigns/{campaign_id}"
        lifetime = snap.squad(campaign_id, daily_budget_micro=None, lifetime_budget_micro=900_000_000)
        lifetime = {k: v for k, v in lifetime.items() if v is not None}
        reason = snap.item_error(await sb.create(path, "adsquads", lifetime), "adsquads")
        assert reason == "end_time is required for an ad squad with a lifetime_budget_micro"
        ended = await sb.made(path, "adsquads", "adsquad", {**lifetime, "end_time": "2026-08-31T23:59:59.000Z"})
        r = await sb.api("PUT", f"/{path}/adsquads", json={"adsquads": [{**lifetime, "id": ended["id"]}]})
        assert snap.item_error(r, "adsquads") == reason

    snap.run(scenario)
