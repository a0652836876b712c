"""Broadstreet as its official clients call it (research fidelity-audit.md rows 13-15).

- restrictions: one string (phone, non_phone, tablet, desktop, mobile) or none; a spec asking for a
  combination is a spec error at the field's line; the emulator refuses a list with its 422 envelope.
- creates go under the parent, as the official Ruby gem sends them, and the emulator serves them.
- bodies are form-encoded, as the gem (Faraday) and the PHP client send them; the gem's Faraday also
  puts the token in a POST body, which the emulator takes.
- Broadstreet has no ad account time zone: the sandbox refuses to provision one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from reconciler.model import Action
from reconciler.providers.broadstreet import BroadstreetProvider
from reconciler.spec.compile import compile_specs
from reconciler.spec.loader import load_specs
from tests import provider_kit as kit
from tests.conftest import png_bytes
from tests.test_provider_broadstreet import NETWORK, TOKEN, html_ad, op, target
from tests.test_sandbox import Sandbox as ApiSandbox
from tests.test_sandbox import run as run_api
from tests.test_spec_validate import REST, issues_of, line_of, project

# --- the spec: one restriction at most, compiled to one string ---

PLACED = "kind: Placement\ncampaign: acme-summer\ncreative: summer-728x90\nzone: home-leaderboard\n"
BS_ONLY = REST.replace("targets: [bs-main, meta-us]", "targets: [bs-main]")  # meta would need a budget


def placement_attributes(root: Path) -> dict[str, Any]:
    compiled = compile_specs(load_specs(root))
    (resource,) = [r for r in compiled.resources if r.type == "placement"]
    return resource.attributes


def test_two_restrictions_are_a_spec_error_at_the_field(tmp_path: Path) -> None:
    rest = REST.replace(PLACED, PLACED + "restrictions: [desktop, tablet]\n")
    assert rest != REST
    issues = issues_of(project(tmp_path, rest))
    assert [(i.file, i.line, i.field) for i in issues] == [
        (str(Path("specs/main.yaml")), line_of(rest, "restrictions:"), "restrictions")
    ]
    assert "restrictions [desktop, tablet] combine devices" in issues[0].message
    assert "one of phone, non_phone, tablet, desktop, mobile" in issues[0].message


@pytest.mark.parametrize(("line", "sent"), [("restrictions: [non_phone]\n", "non_phone"), ("", None)])
def test_a_restriction_compiles_to_one_string_or_none(tmp_path: Path, line: str, sent: str | None) -> None:
    root = project(tmp_path, BS_ONLY.replace(PLACED, PLACED + line))
    assert placement_attributes(root) == {"restrictions": sent}


def test_the_repeated_same_restriction_is_one(tmp_path: Path) -> None:
    root = project(tmp_path, BS_ONLY.replace(PLACED, PLACED + "restrictions: [phone, phone]\n"))
    assert placement_attributes(root) == {"restrictions": "phone"}


# --- the emulator: one string, nested creates, form bodies, the token in a form body ---


async def triple(sb: ApiSandbox) -> dict[str, Any]:
    """A campaign, an advertisement and a zone of one network, made as the official gem makes them."""
    advertiser = (await sb.bs("POST", "/networks/85/advertisers", data={"name": "acme"})).json()["advertiser"]["id"]
    r = await sb.bs("POST", f"/advertisers/{advertiser}/campaigns", data={"name": "c", "start_date": "2026-06-01"})
    campaign = r.json()["campaign"]["id"]
    body = {"name": "t", "type": "text", "default_text": "hi", "destination": "https://acme.example"}
    ad = (await sb.bs("POST", f"/advertisers/{advertiser}/advertisements", data=body)).json()["advertisement"]["id"]
    zone = (await sb.bs("POST", "/networks/85/zones", data={"name": "z"})).json()["zone"]["id"]
    return {"campaign_id": campaign, "advertisement_id": ad, "zone_id": zone}


def test_emulator_refuses_a_json_list_of_restrictions_with_its_422_envelope() -> None:
    async def scenario(sb: ApiSandbox) -> None:
        ids = await triple(sb)
        # What the provider sent before (`[]` for none, a sorted list), refused as the API documents no list.
        for restrictions in (["desktop", "tablet"], ["mobile"], []):
            r = await sb.bs("POST", "/placements", json={**ids, "restrictions": restrictions})
            assert r.status_code == 422, restrictions
            assert r.json() == {
                "errors": {
                    "restrictions": ["must be one string, one of phone, non_phone, tablet, desktop, mobile, not a list"]
                }
            }
        assert (await sb.bs("GET", "/placements", {"campaign_id": ids["campaign_id"]})).json() == []
        for bad in ("desktop,tablet", "Desktop", "smartwatch"):
            r = await sb.bs("POST", "/placements", json={**ids, "restrictions": bad})
            assert (r.status_code, r.json()) == (422, {"errors": {"restrictions": ["is not included in the list"]}})
        assert (await sb.bs("POST", "/placements", json={**ids, "restrictions": "desktop"})).status_code == 201
        listed = (await sb.bs("GET", "/placements", {"campaign_id": ids["campaign_id"]})).json()
        assert listed == [{**ids, "restrictions": "desktop"}]

    run_api(scenario)


def test_emulator_serves_the_gems_nested_creates_with_the_parent_from_the_path() -> None:
    async def scenario(sb: ApiSandbox) -> None:
        # The path's network wins over one in the body, as the route names the parent.
        r = await sb.bs("POST", "/networks/85/advertisers", data={"name": "acme", "network_id": "99"})
        assert r.status_code == 201
        advertiser = r.json()["advertiser"]
        assert advertiser["network_id"] == 85
        r = await sb.bs(
            "POST", "/networks/85/zones", data={"name": "Leaderboard", "alias": "lb", "self_serve": "false"}
        )
        assert (r.status_code, r.json()["zone"]["network_id"], r.json()["zone"]["self_serve"]) == (201, 85, False)
        r = await sb.bs("POST", "/networks/85/zones", data={"name": "Again", "alias": "lb"})
        assert (r.status_code, r.json()) == (422, {"errors": {"alias": ["has already been taken"]}})

        body = {"name": "summer", "start_date": "2026-06-01", "end_date": "", "paused": "true", "weight": "1.5"}
        r = await sb.bs("POST", f"/advertisers/{advertiser['id']}/campaigns", data=body)
        assert r.status_code == 201
        campaign = r.json()["campaign"]
        assert (campaign["advertiser_id"], campaign["end_date"], campaign["paused"], campaign["weight"]) == (
            advertiser["id"],
            None,
            True,
            1.5,
        )
        ad = {"name": "t", "type": "text", "default_text": "hi", "destination": "https://acme.example"}
        r = await sb.bs("POST", f"/advertisers/{advertiser['id']}/advertisements", data=ad)
        assert (r.status_code, r.json()["advertisement"]["type"]) == (201, "TextAdvertisement")

        # Unknown parents answer 404; the nested routes create only (the gem lists on the flat ones).
        assert (await sb.bs("POST", "/advertisers/4/campaigns", data={"name": "x"})).status_code == 404
        assert (await sb.bs("POST", "/advertisers/4/advertisements", data=ad)).status_code == 404
        assert (await sb.bs("GET", f"/advertisers/{advertiser['id']}/campaigns")).status_code == 405
        r = await sb.bs("POST", f"/advertisers/{advertiser['id']}/campaigns", data={"name": ""})
        assert (r.status_code, r.json()) == (422, {"errors": {"name": ["can't be blank"]}})

    run_api(scenario)


def test_emulator_takes_the_token_from_a_form_body_as_the_gems_faraday_sends_it() -> None:
    async def scenario(sb: ApiSandbox) -> None:
        await sb.control("POST", "/auth", {"platform": "broadstreet", "valid_tokens": ["good-token"]})
        path = "/networks/85/advertisers"
        r = await sb.bs("POST", path, token=None, data={"name": "acme", "access_token": "good-token"})
        assert r.status_code == 201
        assert "access_token" not in r.json()["advertiser"]  # the token is not a field
        r = await sb.bs("POST", path, token=None, data={"name": "acme", "access_token": "wrong"})
        assert (r.status_code, r.json()) == (401, {"error": "Invalid or missing access token"})
        assert (await sb.bs("POST", path, token=None, data={"name": "acme"})).status_code == 401
        # In a JSON body it is just a field no client sends: the token must be in the query then.
        r = await sb.bs("POST", path, token=None, json={"name": "acme", "access_token": "good-token"})
        assert r.status_code == 401

    run_api(scenario)


# --- the provider: what goes on the wire ---


class Recording(httpx.AsyncBaseTransport):
    """The sandbox's transport, noting each request's method, path and form body on the way."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent: list[tuple[str, str, str, dict[str, list[str]]]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        content_type = request.headers.get("content-type", "")
        form = parse_qs(body.decode(), keep_blank_values=True) if body else {}
        path = request.url.path.removeprefix("/broadstreet/api/1")
        self.sent.append((request.method, path, content_type, form))
        return await self.inner.handle_async_request(request)


def test_provider_creates_under_the_parent_with_form_bodies_and_one_restriction() -> None:
    async def scenario(sb: kit.AsyncSandbox) -> None:
        wire = Recording(sb.transport)
        p = BroadstreetProvider(target(), TOKEN, transport=wire)
        try:
            advertiser = (await p.create(op("advertiser", {"name": "ACME", "network_id": NETWORK}))).id
            zone = (await p.create(op("zone", {"name": "Top", "alias": "top", "network_id": NETWORK}))).id
            attrs = {"name": "summer", "advertiser_id": advertiser, "start_date": "2026-06-01", "end_date": None}
            campaign = (await p.create(op("campaign", {**attrs, "paused": False}))).id
            ad = (await p.create(op("advertisement", html_ad(advertiser)))).id
            ids = {"campaign_id": campaign, "advertisement_id": ad, "zone_id": zone}
            await p.create(op("placement", {**ids, "restrictions": "mobile"}))
            other = (await p.create(op("zone", {"name": "Side", "network_id": NETWORK}))).id
            await p.create(op("placement", {**ids, "zone_id": other, "restrictions": None}))
            dated = {**attrs, "end_date": "2026-08-31", "paused": True}
            await p.update(op("campaign", dated, action=Action.UPDATE, id_=campaign, changed=("end_date", "paused")))
            cleared = {**dated, "end_date": None}
            updated = await p.update(op("campaign", cleared, action=Action.UPDATE, id_=campaign, changed=("end_date",)))
            assert updated["end_date"] is None  # an empty form field clears it, as Rails reads it
        finally:
            await p.aclose()

        writes = [(m, path, form) for m, path, kind, form in wire.sent if m in ("POST", "PUT")]
        assert all(kind == "application/x-www-form-urlencoded" for m, _, kind, _ in wire.sent if m in ("POST", "PUT"))
        assert writes == [
            ("POST", f"/networks/{NETWORK}/advertisers", {"name": ["ACME"]}),
            ("POST", f"/networks/{NETWORK}/zones", {"name": ["Top"], "alias": ["top"]}),
            (
                "POST",
                f"/advertisers/{advertiser}/campaigns",
                {"name": ["summer"], "start_date": ["2026-06-01"], "end_date": [""], "paused": ["false"]},
            ),
            (
                "POST",
                f"/advertisers/{advertiser}/advertisements",
                {"name": ["teaser"], "type": ["html"], "html": ["<b>Summer</b>"]},
            ),
            ("POST", "/placements", {**{k: [v] for k, v in ids.items()}, "restrictions": ["mobile"]}),
            ("POST", f"/networks/{NETWORK}/zones", {"name": ["Side"]}),
            ("POST", "/placements", {"campaign_id": [campaign], "advertisement_id": [ad], "zone_id": [other]}),
            ("PUT", f"/campaigns/{campaign}", {"end_date": ["2026-08-31"], "paused": ["true"]}),
            ("PUT", f"/campaigns/{campaign}", {"end_date": [""]}),
        ]
        stored = {o["fields"]["zone_id"]: o["fields"]["restrictions"] for o in await sb.listing(type="placement")}
        assert stored == {int(zone): "mobile", int(other): None}

    kit.in_sandbox(scenario)


@pytest.mark.parametrize(
    ("echoed", "recorded"),
    [
        ("mobile", "mobile"),
        ("Phone", "phone"),
        (["tablet"], "tablet"),
        ([], None),
        ("", None),
        (None, None),
        (["tablet", "phone"], "phone,tablet"),
    ],  # fmt: skip
)
def test_restrictions_read_back_as_the_one_string(echoed: Any, recorded: str | None) -> None:
    p = BroadstreetProvider(target(), TOKEN)
    row = {"campaign_id": 1, "advertisement_id": 2, "zone_id": 3, "restrictions": echoed}
    expected = {"campaign_id": "1", "advertisement_id": "2", "zone_id": "3", "restrictions": "mobile"}
    assert p.attributes_of("placement", row, expected)["restrictions"] == recorded


# --- through the command: apply, then plan and refresh have nothing to do ---

SPEC = """\
kind: Target
name: bs-main
platform: broadstreet
network_id: 85
credentials: {token_env: BROADSTREET_API_TOKEN}
---
kind: Advertiser
name: acme
display_name: ACME Corp
---
kind: Zone
name: home-lb
target: bs-main
display_name: Homepage leaderboard
alias: home-lb
---
kind: Zone
name: side
target: bs-main
display_name: Sidebar
---
kind: Creative
name: banner
advertiser: acme
format: image/png
size: 728x90
asset: assets/banner.png
click_url: https://acme.example/summer
---
kind: Campaign
name: summer
advertiser: acme
start_date: 2026-06-01
targets: [bs-main]
creatives: [banner]
---
kind: Placement
campaign: summer
creative: banner
zone: home-lb
restrictions: [non_phone]
---
kind: Placement
campaign: summer
creative: banner
zone: side
"""


def test_apply_through_the_command_places_one_restriction_and_converges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BROADSTREET_API_TOKEN", raising=False)  # --sandbox fills in a placeholder
    kit.write_specs(tmp_path, SPEC, {"banner.png": png_bytes(3)})
    reconciler = kit.Cli(capsys, tmp_path)
    reconciler.apply()
    placements = {o.fields["zone_id"]: o.fields["restrictions"] for o in kit.saved_objects(tmp_path, "broadstreet")
                  if o.type == "placement"}  # fmt: skip
    zones = {o.fields["alias"]: int(o.id) for o in kit.saved_objects(tmp_path, "broadstreet") if o.type == "zone"}
    assert placements == {zones["home-lb"]: "non_phone", zones[None]: None}
    # No account time zone: the flight stays plain dates (an always-on campaign has no end).
    (campaign,) = [o for o in kit.saved_objects(tmp_path, "broadstreet") if o.type == "campaign"]
    assert (campaign.fields["start_date"], campaign.fields["end_date"]) == ("2026-06-01", None)
    reconciler.assert_no_changes()
    reconciler.assert_no_drift()


# --- no ad account time zone on an ad server ---


def test_sandbox_provisions_no_broadstreet_account() -> None:
    async def scenario(sb: kit.AsyncSandbox) -> None:
        body = {"platform": "broadstreet", "id": "85", "timezone": "America/Los_Angeles", "currency": "USD"}
        r = await sb.http.post("/__sandbox__/accounts", json=body)
        assert (r.status_code, r.json()) == (
            400,
            {"error": "broadstreet has no ad accounts with a time zone and currency", "field": "platform"},
        )
        assert await sb.listing(platform="broadstreet") == []  # nothing was made

    kit.in_sandbox(scenario)
