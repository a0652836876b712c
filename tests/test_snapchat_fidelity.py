"""Snapchat as the real API wants it (issue 10, fidelity-audit rows 10-12 and the cross-cutting rules).

The compiled attributes; the emulator refusing the old, wrong requests with Snapchat's own error
envelope; the provider refusing every write when the ad account keeps another time zone; and, through
the real `reconciler` command against `sandbox serve`, applies into accounts provisioned west and east
of UTC with POST /__sandbox__/accounts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.errors import SpecError
from reconciler.importer import snapchat as importer
from reconciler.importer.model import Account, Names
from reconciler.importer.writer import SpecWriter
from reconciler.model import Action
from reconciler.providers.base import ErrorClass, ProviderError
from reconciler.providers.snapchat import OAuthCredentials, SnapchatProvider
from reconciler.sandbox import snapchat as emulator
from reconciler.spec.compile import SNAPCHAT_CALLS_TO_ACTION, compile_specs
from reconciler.spec.loader import load_specs
from tests import provider_kit as kit
from tests import test_sandbox_snapchat as api
from tests.conftest import png_bytes
from tests.e2e import Sandbox as Server
from tests.e2e import run_reconciler
from tests.test_import_snapchat import TARGET, Api, assert_compiles_to_live, listing
from tests.test_provider_snapchat import (
    ACCOUNT,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    SPEC,
    Sandbox,
    campaign_attrs,
    op,
    run,
    squad_attrs,
)


def edit(project: Path, *pairs: tuple[str, str]) -> None:
    spec = project / "specs" / "main.yaml"
    text = spec.read_text()
    for old, new in pairs:
        assert old in text, old
        text = text.replace(old, new, 1)
    spec.write_text(text)


def compiled(project: Path) -> dict[str, dict[str, Any]]:
    return {r.address: r.attributes for r in compile_specs(load_specs(project)).resources}


def issues(project: Path) -> list[Any]:
    with pytest.raises(SpecError) as error:
        compile_specs(load_specs(project))
    return error.value.issues


SUMMER_AUDIENCE = "audience: {countries: [US], age_min: 18}\n"


# --- row 10: bidding ---


def test_an_ad_squad_bids_automatically_without_a_cap(project: Path) -> None:
    squad = compiled(project)["snap-us:adsquad/summer"]
    assert squad["bid_strategy"] == "AUTO_BID" and "bid_micro" not in squad


def test_a_bid_in_the_overrides_caps_the_squad_with_a_max_bid(project: Path) -> None:
    edit(project, (SUMMER_AUDIENCE, SUMMER_AUDIENCE + "overrides: {snapchat: {bid_micro: 2500000}}\n"))
    squad = compiled(project)["snap-us:adsquad/summer"]
    assert (squad["bid_strategy"], squad["bid_micro"]) == ("LOWEST_COST_WITH_MAX_BID", 2_500_000)


def test_a_named_strategy_keeps_its_bid(project: Path) -> None:
    override = "overrides: {snapchat: {adsquad: {bid_strategy: TARGET_COST, bid_micro: 700000}}}\n"
    edit(project, (SUMMER_AUDIENCE, SUMMER_AUDIENCE + override))
    squad = compiled(project)["snap-us:adsquad/summer"]
    assert (squad["bid_strategy"], squad["bid_micro"]) == ("TARGET_COST", 700_000)


@pytest.mark.parametrize(
    ("override", "field", "words"),
    [
        ("{bid_strategy: TARGET_COST}", "overrides.snapchat.bid_strategy", "TARGET_COST needs a bid"),
        ("{bid_strategy: AUTO_BID, bid_micro: 900000}", "overrides.snapchat.bid_micro", "AUTO_BID sets no bid"),
        ("{bid_micro: 1.5}", "overrides.snapchat.bid_micro", "positive whole number"),
        ("{bid_strategy: MAX_BID, bid_micro: 900000}", "overrides.snapchat.bid_strategy", "AUTO_BID, LOWEST_COST"),
    ],
)
def test_a_bid_snapchat_would_refuse_is_a_spec_error(project: Path, override: str, field: str, words: str) -> None:
    edit(project, (SUMMER_AUDIENCE, SUMMER_AUDIENCE + f"overrides: {{snapchat: {override}}}\n"))
    [issue] = issues(project)
    assert (issue.file, issue.field) == ("specs/main.yaml", field) and issue.line > 0
    assert words in issue.message


# --- row 11: calls to action ---


def test_a_call_to_action_snapchat_lacks_is_a_spec_error_naming_the_allowed_ones(project: Path) -> None:
    edit(project, ("headline: Summer sale\n", "headline: Summer sale\ncall_to_action: LEARN_MORE\n"))
    [issue] = issues(project)  # once, on the Creative, though a campaign shows it
    assert (issue.file, issue.field) == ("specs/main.yaml", "call_to_action")
    assert issue.line == (project / "specs" / "main.yaml").read_text().splitlines().index("name: banner")
    assert "'LEARN_MORE' on a WEB_VIEW creative" in issue.message and "MORE, ORDER_NOW" in issue.message
    assert "overrides: {snapchat: {creative: {call_to_action: MORE}}}" in issue.message

    # Kept for the other platforms, Snapchat's own through the campaign's overrides.
    edit(
        project, (SUMMER_AUDIENCE, SUMMER_AUDIENCE + "overrides: {snapchat: {creative: {call_to_action: SHOP_NOW}}}\n")
    )
    resources = compiled(project)
    assert resources["snap-us:creative/summer.banner"]["call_to_action"] == "SHOP_NOW"
    assert resources["tiktok-us:ad/summer.banner"]["call_to_action"] == "LEARN_MORE"


def test_an_overridden_call_to_action_is_checked_where_it_is_set(project: Path) -> None:
    edit(project, (SUMMER_AUDIENCE, SUMMER_AUDIENCE + "overrides: {snapchat: {creative: {call_to_action: BUY}}}\n"))
    [issue] = issues(project)
    assert issue.field == "overrides.snapchat.creative.call_to_action" and "'BUY'" in issue.message


def test_without_a_call_to_action_snapchat_gets_more(project: Path) -> None:
    assert compiled(project)["snap-us:creative/summer.banner"]["call_to_action"] == "MORE"


def test_the_compilers_list_is_the_emulators() -> None:
    assert SNAPCHAT_CALLS_TO_ACTION["WEB_VIEW"] == set(emulator.CALLS_TO_ACTION["WEB_VIEW"])
    assert "LEARN_MORE" not in SNAPCHAT_CALLS_TO_ACTION["WEB_VIEW"]


def test_the_demo_specs_validate() -> None:
    root = Path(__file__).resolve().parent.parent
    resources = {r.address: r.attributes for r in compile_specs(load_specs(root)).resources}
    assert resources["snap-us:creative/northwind-launch.northwind-320x50"]["call_to_action"] == "MORE"


# --- row 12 and conversions ---


def test_the_legacy_objective_is_sent(project: Path) -> None:
    campaign = compiled(project)["snap-us:campaign/summer"]
    assert campaign["objective"] == "WEB_CONVERSION" and "objective_v2_properties" not in campaign


@pytest.mark.parametrize(
    ("event", "goal"),
    [
        ("PURCHASE", "PIXEL_PURCHASE"),
        ("COMPLETE_REGISTRATION", "PIXEL_SIGNUP"),
        ("ADD_TO_CART", "PIXEL_ADD_TO_CART"),
        ("VIEW_CONTENT", "PIXEL_PAGE_VIEW"),
    ],
)
def test_a_conversions_squad_optimises_for_its_events_pixel_goal(project: Path, event: str, goal: str) -> None:
    edit(
        project,
        ("objective: traffic", f"objective: conversions\nconversion_event: {event}"),
        ("targets: [bs-main, meta-us, tiktok-us, snap-us]", "targets: [bs-main, snap-us]"),
        ("platform: snapchat\n", "platform: snapchat\npixel_id: 5b2e9c1a-0d3f-4c6e-9a7b-1f2e3d4c5b6a\n"),
    )
    squad = compiled(project)["snap-us:adsquad/summer"]
    assert (squad["optimization_goal"], squad["pixel_id"]) == (goal, "5b2e9c1a-0d3f-4c6e-9a7b-1f2e3d4c5b6a")


def test_an_event_snapchat_cannot_optimise_for_is_a_spec_error(project: Path) -> None:
    edit(
        project,
        ("objective: traffic", "objective: conversions\nconversion_event: LEAD"),
        ("targets: [bs-main, meta-us, tiktok-us, snap-us]", "targets: [bs-main, snap-us]"),
        ("platform: snapchat\n", "platform: snapchat\npixel_id: px-1\n"),
    )
    [issue] = issues(project)
    assert issue.field == "conversion_event" and issue.line > 0
    assert "no pixel optimization goal for LEAD" in issue.message and "PURCHASE" in issue.message


# --- the emulator refuses what Snapchat refuses ---


def test_the_emulator_refuses_a_call_to_action_outside_the_creative_types_list() -> None:
    async def scenario(sb: api.Sandbox) -> None:
        media_id = await sb.ready_media()
        path = f"adaccounts/{api.ACCOUNT}"
        for wrong in ("LEARN_MORE", "INSTALL_NOW"):  # not on a web view (the second is an app install's)
            reason = api.item_error(await sb.create(path, "creatives", api.creative(media_id, call_to_action=wrong)),
                                    "creatives")  # fmt: skip
            assert f"call_to_action '{wrong}' is not valid for a WEB_VIEW creative" in reason and "SHOP_NOW" in reason
        made = await sb.creative(media_id, call_to_action="SHOP_NOW")
        assert made["call_to_action"] == "SHOP_NOW"

    api.run(scenario)


def test_the_emulator_checks_objective_v2_type_and_adds_the_bid_flags_on_read() -> None:
    async def scenario(sb: api.Sandbox) -> None:
        made = await sb.campaign("v2", objective_v2_properties={"objective_v2_type": "SALES"})
        assert made["objective_v2_properties"] == {"objective_v2_type": "SALES"}
        item = {"ad_account_id": api.ACCOUNT, "name": "v2", "status": "ACTIVE", "start_time": api.START}
        wrong = {**item, "objective_v2_properties": {"objective_v2_type": "CONVERSIONS"}}
        reason = api.item_error(await sb.create(f"adaccounts/{api.ACCOUNT}", "campaigns", wrong), "campaigns")
        assert "objective_v2_properties.objective_v2_type must be one of" in reason

        targeting = {"geos": [{"country_code": "us"}], "demographics": [{"min_age": 18}]}
        squad = await sb.adsquad(made["id"], bid_strategy="TARGET_COST", bid_micro=800_000, targeting=targeting)
        assert squad["targeting"] == {  # Snapchat's own defaults, written in: never drift (refresh test below)
            "regulated_content": False,
            "geos": [{"country_code": "us", "operation": "INCLUDE"}],
            "demographics": [{"min_age": 18}],
        }
        assert (squad["auto_bid"], squad["target_bid"], squad["delivery_constraint"]) == (
            False,
            True,
            "DAILY_BUDGET",
        )

    api.run(scenario)


def test_accounts_are_provisioned_with_a_time_zone_and_currency() -> None:
    async def scenario(sb: kit.AsyncSandbox) -> None:
        shown = await sb.control(
            "POST", "/accounts", {"platform": "snapchat", "id": ACCOUNT, "timezone": "Asia/Tokyo", "currency": "JPY"}
        )
        assert (shown["id"], shown["timezone"], shown["currency"]) == (ACCOUNT, "Asia/Tokyo", "JPY")
        again = await sb.control("POST", "/accounts", {"platform": "snapchat", "id": ACCOUNT, "timezone": "UTC"})
        assert (again["timezone"], again["currency"], again["created_at"]) == ("UTC", "USD", shown["created_at"])
        response = await sb.http.post("/__sandbox__/accounts", json={"platform": "snapchat", "id": "act_1"})
        assert response.status_code == 400 and "UUID" in response.json()["error"]

    kit.in_sandbox(scenario)


# --- the provider: the account's time zone before any write ---


class ZonedSandbox(kit.ProviderSandbox):
    platform = "snapchat"
    zone = "America/Los_Angeles"

    def provider(self) -> SnapchatProvider:
        oauth = {"refresh_token_env": "SNAP_REFRESH", "client_id_env": "SNAP_ID", "client_secret_env": "SNAP_SECRET"}
        settings = {"ad_account_id": ACCOUNT, "timezone": self.zone}
        target = kit.sandbox_target("snap-us", "snapchat", settings, oauth)
        return SnapchatProvider(
            target, OAuthCredentials(REFRESH_TOKEN, "app-id", CLIENT_SECRET), transport=self.transport
        )


def test_a_time_zone_other_than_the_accounts_refuses_every_write_before_sending_it(tmp_path: Path) -> None:
    async def scenario(sb: ZonedSandbox, p: SnapchatProvider) -> None:
        # The account is UTC (provisioned on first use); the Target says Los Angeles.
        asset = kit.asset_file(tmp_path, png_bytes(1))
        media = {"ad_account_id": ACCOUNT, "name": "banner", "type": "IMAGE", "asset_sha256": asset.sha256}
        attempts = [
            op("campaign", campaign_attrs()),
            op("media", media, asset=asset),
            op("campaign", campaign_attrs(), action=Action.UPDATE, id_="0b0e7f1c-1111-4a6b-8c7d-9e0f1a2b3c4d"),
        ]
        for attempt in attempts:
            with pytest.raises(ProviderError) as info:
                await (p.create(attempt) if attempt.action is Action.CREATE else p.update(attempt))
            exc = info.value
            assert exc.error_class is ErrorClass.VALIDATION and not exc.outcome_unknown
            assert "America/Los_Angeles" in exc.message and "keeps time zone UTC" in exc.message
            assert ACCOUNT in exc.message
        with pytest.raises(ProviderError, match="keeps time zone UTC"):
            await p.delete(op("campaign", campaign_attrs(), action=Action.DELETE, id_=ACCOUNT))
        requests = await sb.requests()
        assert set(requests) == {"GET", "POST"} and requests["GET"] == 1  # the account, read once
        assert requests["POST"] == 1  # the token: no write was sent
        assert await sb.objects("campaign") == {} and await sb.objects("media") == {}

    ZonedSandbox.run(scenario)


def test_the_accounts_own_time_zone_lets_writes_through() -> None:
    async def scenario(sb: ZonedSandbox, p: SnapchatProvider) -> None:
        await sb.control("POST", "/accounts", {"platform": "snapchat", "id": ACCOUNT, "timezone": sb.zone})
        campaign_id = (await p.create(op("campaign", campaign_attrs()))).id
        await p.create(op("adsquad", squad_attrs(campaign_id)))
        assert (await sb.requests())["GET"] == 1  # time zone and currency from one read of the account

    ZonedSandbox.run(scenario)


# --- end to end: `reconciler apply` into accounts west and east of UTC, against `sandbox serve` ---

E2E_TARGET = """\
kind: Target
name: snap-us
platform: snapchat
ad_account_id: 8f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d
timezone: {zone}
api_base_url: {url}/snapchat/v1
auth_url: {url}/snapchat/login/oauth2/access_token
rate_limit: 200
"""


def zoned_project(directory: Path, url: str, zone: str) -> Path:
    spec = SPEC.replace(
        SPEC[: SPEC.index("credentials:")], E2E_TARGET.format(zone=zone, url=url)
    )  # the rest of test_provider_snapchat's project: one campaign, June 1 - August 31
    kit.write_specs(directory, spec, {"banner.png": png_bytes(1)})
    (directory / "state").mkdir()
    return directory


@pytest.fixture
def snap_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("SNAP_REFRESH", REFRESH_TOKEN), ("SNAP_ID", "app-id"), ("SNAP_SECRET", CLIENT_SECRET)):
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    ("zone", "start", "end"),
    [
        ("America/Los_Angeles", "2026-06-01T07:00:00.000Z", "2026-09-01T06:59:59.000Z"),  # UTC-7 in summer
        ("Asia/Tokyo", "2026-05-31T15:00:00.000Z", "2026-08-31T14:59:59.000Z"),  # UTC+9
    ],
)
def test_apply_into_a_zoned_account_runs_its_local_days_and_refreshes_clean(
    tmp_path: Path, sandbox: Server, snap_env: None, zone: str, start: str, end: str
) -> None:
    sandbox.control("POST", "accounts", json={"platform": "snapchat", "id": ACCOUNT, "timezone": zone})
    project = zoned_project(tmp_path / "project", sandbox.url, zone)
    applied = run_reconciler(project, "apply", "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    objects = {o["type"]: o["fields"] for o in sandbox.objects("snapchat") if o["type"] != "adaccount"}
    for type_ in ("campaign", "adsquad"):
        assert (objects[type_]["start_time"], objects[type_]["end_time"]) == (start, end), type_
    assert objects["adsquad"]["bid_strategy"] == "AUTO_BID" and "bid_micro" not in objects["adsquad"]
    # Read back with the keys Snapchat adds (auto_bid, targeting.regulated_content, geos' operation...): no drift.
    refreshed = run_reconciler(project, "plan", "--refresh", "--detailed-exitcode")
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr


def test_a_time_zone_mismatch_stops_the_target_before_any_write(
    tmp_path: Path, sandbox: Server, snap_env: None
) -> None:
    sandbox.control("POST", "accounts", json={"platform": "snapchat", "id": ACCOUNT, "timezone": "Asia/Tokyo"})
    project = zoned_project(tmp_path / "project", sandbox.url, "America/Los_Angeles")
    before = sandbox.writes("snapchat")
    applied = run_reconciler(project, "apply", "--auto-approve")
    assert applied.returncode != 0
    output = applied.stdout + applied.stderr
    assert "America/Los_Angeles" in output and "Asia/Tokyo" in output and "Traceback" not in output
    assert sandbox.writes("snapchat") - before == 1  # the token request alone: not one object written
    assert [o for o in sandbox.objects("snapchat") if o["type"] != "adaccount"] == []


# --- import: an account's days are its own ---


def test_an_import_from_a_los_angeles_account_reads_its_local_days(tmp_path: Path) -> None:
    zoned = TARGET.format(account=ACCOUNT) + "timezone: America/Los_Angeles\n"

    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        await sb.control(
            "POST", "/accounts", {"platform": "snapchat", "id": ACCOUNT, "timezone": "America/Los_Angeles"}
        )
        tool = Api(sb.http)
        await tool.login()
        times = {"start_time": "2026-06-01T07:00:00.000Z", "end_time": "2026-09-01T06:59:59.000Z"}  # local days
        campaign = await tool.campaign("la-summer", "WEB_CONVERSION", **times)
        await tool.squad(campaign, "la-summer", "SWIPES", daily_budget_micro=10_000_000, **times)
        (tmp_path / "specs").mkdir()
        (tmp_path / "specs" / "targets.yaml").write_text(zoned)
        target = load_specs(tmp_path, {}).targets["snap-us"]
        listed = await listing(p)
        mapped = await importer.map_objects(Account(target, listed, {}, Names({}), p.download))
        [document] = [u.document for u in mapped.units if u.document["kind"] == "Campaign"]
        assert (str(document["start_date"]), str(document["end_date"])) == ("2026-06-01", "2026-08-31")
        assert "overrides" not in document  # the times are what compile makes of those days there
        writer = SpecWriter(tmp_path)
        writer.add("snap-us", mapped.units)
        writer.write()
        assert_compiles_to_live(compile_specs(load_specs(tmp_path, {})), mapped, listed, p)

    run(scenario)


def test_an_imported_creative_with_a_call_to_action_outside_the_list_is_skipped_not_written(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        tool = Api(sb.http)
        await tool.login()
        campaign = await tool.campaign("engage", "ENGAGEMENT")
        squad = await tool.squad(campaign, "engage", "SWIPES", daily_budget_micro=10_000_000)
        media = await tool.media("photo", png_bytes(7), "photo.png", "image/png")
        ad = await tool.ad(squad, await tool.creative(media, "engage.photo"), "engage.photo")
        listed = await listing(p)
        # As a real account might hold it: a value the (UNCONFIRMED) list lacks, which the spec would refuse.
        listed["creative"] = [
            type(c)(c.type, c.id, {**c.row, "call_to_action": "LEARN_MORE"}) for c in listed["creative"]
        ]
        (tmp_path / "specs").mkdir()
        (tmp_path / "specs" / "targets.yaml").write_text(TARGET.format(account=ACCOUNT))
        target = load_specs(tmp_path, {}).targets["snap-us"]
        mapped = await importer.map_objects(Account(target, listed, {}, Names({}), p.download))
        reasons = {s.id: s.reason for s in mapped.skipped}
        assert "call_to_action LEARN_MORE is none reconciler knows for a WEB_VIEW creative" in reasons[ad]
        assert not any(u.document["kind"] == "Creative" for u in mapped.units)

    run(scenario)
