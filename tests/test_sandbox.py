"""The sandbox: Broadstreet emulation, fault injection and the control API.

In-process through httpx.ASGITransport, plus one test over real HTTP with uvicorn.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.connect import SANDBOX_ROOT
from reconciler.errors import ReconcilerError
from reconciler.sandbox import create_app
from reconciler.sandbox.store import Store
from tests import provider_kit as kit
from tests.e2e import free_port

BS = "/broadstreet/api/1"
TOKEN = "tok-123"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


class Sandbox(kit.AsyncSandbox):
    """An in-process sandbox whose Broadstreet calls carry the token."""

    def __init__(self, **settings: Any) -> None:
        super().__init__(**settings)
        self.state = self.app.state.sandbox  # the app's shared runtime state

    async def bs(
        self, method: str, path: str, params: dict[str, Any] | None = None, token: str | None = TOKEN, **kw: Any
    ) -> httpx.Response:
        query = {**({"access_token": token} if token is not None else {}), **(params or {})}
        return await self.http.request(method, BS + path, params=query, **kw)

    async def advertiser(self, name: str = "acme", network_id: int = 85) -> int:
        r = await self.bs("POST", "/advertisers", {"network_id": network_id}, json={"name": name})
        assert r.status_code == 201, r.text
        return r.json()["advertiser"]["id"]


def run(scenario: Callable[[Sandbox], Awaitable[None]], **settings: Any) -> None:
    """Run an async scenario against a fresh in-process sandbox."""
    kit.in_sandbox(scenario, Sandbox, **settings)


# --- Broadstreet: create / read / update / delete of every type ---


def test_advertiser_crud_with_json_and_form_bodies() -> None:
    async def scenario(sb: Sandbox) -> None:
        r = await sb.bs(
            "POST", "/advertisers", {"network_id": 85}, json={"name": "ACME", "web_home_url": "https://acme.example"}
        )
        assert r.status_code == 201
        created = r.json()["advertiser"]
        assert created == {
            "id": 10000,
            "network_id": 85,
            "name": "ACME",
            "web_home_url": "https://acme.example",
            "notes": None,
        }
        second = await sb.advertiser("other")
        assert second == 10001  # numeric ids, increasing per type

        r = await sb.bs("GET", "/advertisers/10000")
        assert r.status_code == 200 and r.json() == {"advertiser": created}
        r = await sb.bs("GET", "/advertisers", {"network_id": 85})
        assert [a["name"] for a in r.json()["advertisers"]] == ["ACME", "other"]
        r = await sb.bs("GET", "/advertisers", {"network_id": 86})
        assert r.json() == {"advertisers": []}

        r = await sb.bs("PUT", "/advertisers/10000", data={"notes": "vip", "network_id": "999"})
        assert r.status_code == 200
        assert r.json()["advertiser"] == {**created, "notes": "vip"}  # the parent cannot be changed

        r = await sb.bs("DELETE", "/advertisers/10000")
        assert r.status_code == 204 and r.content == b""
        assert (await sb.bs("GET", "/advertisers/10000")).status_code == 404
        assert (await sb.bs("DELETE", "/advertisers/10000")).status_code == 404
        assert (await sb.bs("PUT", "/advertisers/10000", json={"name": "x"})).status_code == 404
        r = await sb.bs("GET", "/advertisers", {"network_id": 85})
        assert [a["id"] for a in r.json()["advertisers"]] == [10001]

        live = await sb.listing(platform="broadstreet", type="advertiser")
        assert [o["id"] for o in live] == ["10001"]
        every = await sb.listing(platform="broadstreet", type="advertiser", include_deleted=1)
        assert [(o["id"], o["deleted"], o["fields"]["notes"]) for o in every] == [
            ("10000", True, "vip"),
            ("10001", False, None),
        ]

    run(scenario)


def test_networks_are_provisioned_on_first_use() -> None:
    async def scenario(sb: Sandbox) -> None:
        assert (await sb.bs("GET", "/networks")).json() == {"networks": []}
        r = await sb.bs("GET", "/networks/85")
        assert r.status_code == 200 and r.json()["network"]["id"] == 85
        await sb.bs("POST", "/zones", json={"network_id": 7, "name": "z"})
        r = await sb.bs("GET", "/networks")
        assert [n["id"] for n in r.json()["networks"]] == [85, 7]

    run(scenario)


def test_zone_crud_and_alias_unique_per_network() -> None:
    async def scenario(sb: Sandbox) -> None:
        r = await sb.bs("POST", "/zones", data={"network_id": "85", "name": "Leaderboard", "alias": "home-lb"})
        assert r.status_code == 201
        zone = r.json()["zone"]
        assert zone == {"id": 50000, "network_id": 85, "name": "Leaderboard", "alias": "home-lb", "self_serve": False}

        r = await sb.bs("POST", "/zones", {"network_id": 85}, json={"name": "Again", "alias": "home-lb"})
        assert r.status_code == 422 and r.json() == {"errors": {"alias": ["has already been taken"]}}
        r = await sb.bs("POST", "/zones", {"network_id": 86}, json={"name": "Other net", "alias": "home-lb"})
        assert r.status_code == 201
        r = await sb.bs("POST", "/zones", {"network_id": 85}, json={"name": "Side", "alias": "side"})
        side = r.json()["zone"]["id"]

        r = await sb.bs("PUT", f"/zones/{side}", json={"alias": "home-lb"})
        assert r.status_code == 422 and r.json() == {"errors": {"alias": ["has already been taken"]}}
        r = await sb.bs("PUT", "/zones/50000", json={"alias": "home-lb", "name": "Renamed", "self_serve": True})
        assert r.status_code == 200
        assert r.json()["zone"] == {**zone, "name": "Renamed", "self_serve": True}
        r = await sb.bs("GET", "/zones", {"network_id": 85})
        assert [z["id"] for z in r.json()["zones"]] == [50000, side]
        assert (await sb.bs("GET", "/zones/50000")).json()["zone"]["name"] == "Renamed"

        assert (await sb.bs("DELETE", "/zones/50000")).status_code == 204
        assert (await sb.bs("GET", "/zones/50000")).status_code == 404
        # The alias of a deleted zone is free again.
        r = await sb.bs("POST", "/zones", {"network_id": 85}, json={"name": "New", "alias": "home-lb"})
        assert r.status_code == 201

    run(scenario)


def test_campaign_crud_dates_and_read_only_fields() -> None:
    async def scenario(sb: Sandbox) -> None:
        advertiser = await sb.advertiser()
        r = await sb.bs(
            "POST",
            "/campaigns",
            {"advertiser_id": advertiser},
            data={
                "name": "Summer",
                "start_date": "2026-06-01",
                "end_date": "2026-08-31 23:59:59",
                "paused": "false",
                "max_impression_count": "5000",
                "active": "false",  # read-only: ignored
            },
        )
        assert r.status_code == 201, r.text
        campaign = r.json()["campaign"]
        cid = campaign["id"]
        assert campaign["advertiser_id"] == advertiser
        assert (campaign["start_date"], campaign["end_date"]) == ("2026-06-01", "2026-08-31")
        assert campaign["max_impression_count"] == 5000 and campaign["paused"] is False
        assert campaign["active"] is True
        assert campaign["path"].endswith(f"/advertisers/{advertiser}/campaigns/{cid}")

        r = await sb.bs("PUT", f"/campaigns/{cid}", json={"paused": True, "end_date": "2026-09-30"})
        assert r.status_code == 200
        updated = r.json()["campaign"]
        assert (updated["paused"], updated["active"], updated["end_date"]) == (True, False, "2026-09-30")
        assert (await sb.bs("GET", f"/campaigns/{cid}")).json()["campaign"] == updated
        r = await sb.bs("GET", "/campaigns", {"advertiser_id": advertiser})
        assert r.json() == {"campaigns": [updated]}

        r = await sb.bs("PUT", f"/campaigns/{cid}", json={"end_date": "2026-05-01"})
        assert r.status_code == 422 and r.json() == {"errors": {"end_date": ["must be on or after start_date"]}}
        r = await sb.bs(
            "POST",
            "/campaigns",
            {"advertiser_id": advertiser},
            json={"name": "Bad", "start_date": "2026-06-02", "end_date": "2026-06-01"},
        )
        assert r.status_code == 422 and "end_date" in r.json()["errors"]
        r = await sb.bs(
            "POST", "/campaigns", {"advertiser_id": advertiser}, json={"name": "x", "start_date": "June", "weight": 3}
        )
        assert r.json() == {
            "errors": {"start_date": ["is not a valid date"], "weight": ["is not included in the list"]}
        }

        assert (await sb.bs("POST", "/campaigns", {"advertiser_id": 4}, json={"name": "x"})).status_code == 404
        r = await sb.bs("POST", "/campaigns", json={"name": "x"})
        assert r.status_code == 400 and "advertiser_id" in r.json()["error"]

        assert (await sb.bs("DELETE", f"/campaigns/{cid}")).status_code == 204
        assert (await sb.bs("GET", "/campaigns", {"advertiser_id": advertiser})).json() == {"campaigns": []}

    run(scenario)


def test_advertisements_of_each_type() -> None:
    async def scenario(sb: Sandbox) -> None:
        advertiser = await sb.advertiser()
        other = await sb.advertiser("other")
        query = {"advertiser_id": advertiser}

        payload = base64.b64encode(PNG).decode()
        r = await sb.bs(
            "POST",
            "/advertisements",
            query,
            json={"name": "Banner", "type": "static", "active_base64": payload, "destination": "https://acme.example"},
        )
        assert r.status_code == 201
        static = r.json()["advertisement"]
        digest = hashlib.sha256(PNG).hexdigest()
        assert static["type"] == "StaticAdvertisement"  # quirk: the class name, not "static"
        assert static["advertiser_id"] == advertiser and static["destination"] == "https://acme.example"
        assert digest in static["active_url"]
        assert static["html"] == f"<script src='https://ad.broadstreetads.com/display/{static['id']}.js'></script>"
        assert static["active_url"] in static["preview_html"]
        assert not any(k.startswith("sandbox_") for k in static)
        stored = (await sb.listing(type="advertisement"))[0]["fields"]
        assert (stored["sandbox_active_sha256"], stored["sandbox_active_size"]) == (digest, len(PNG))
        # The bytes are served at active_url, at the sandbox's host, to anyone: a CDN asks for no token.
        assert static["active_url"] == f"{SANDBOX_ROOT}/broadstreet/cdn/creatives/{digest}"
        served = await sb.http.get(static["active_url"])
        assert (served.status_code, served.content, served.headers["content-type"]) == (200, PNG, "image/png")
        assert (await sb.http.get(f"{SANDBOX_ROOT}/broadstreet/cdn/creatives/{'0' * 64}")).status_code == 404

        r = await sb.bs(
            "POST",
            "/advertisements",
            query,
            data={"name": "Hosted", "type": "static", "active_url": "https://img.example/a.png", "destination": "d"},
        )
        assert r.json()["advertisement"]["active_url"] == "https://img.example/a.png"

        markup = "<div class='ad'>Hi</div>"
        r = await sb.bs("POST", "/advertisements", query, json={"name": "Rich", "type": "html", "html": markup})
        html_ad = r.json()["advertisement"]
        assert html_ad["type"] == "HtmlAdvertisement"
        # Both come back as embed scripts (research 1.4): the markup sent is never given back.
        assert html_ad["html"].startswith("<script src='https://ad.broadstreetads.com/display/")
        assert html_ad["preview_html"].endswith(".js?preview=true'></script>")
        assert markup not in json.dumps(html_ad)

        r = await sb.bs(
            "POST",
            "/advertisements",
            {"advertiser_id": other},
            json={"name": "Words", "type": "text", "default_text": "Buy now", "destination": "https://x.example"},
        )
        text_ad = r.json()["advertisement"]
        assert (text_ad["type"], text_ad["default_text"]) == ("TextAdvertisement", "Buy now")

        r = await sb.bs("GET", "/advertisements", {"network_id": 85})
        assert [a["name"] for a in r.json()["advertisements"]] == ["Banner", "Hosted", "Rich", "Words"]
        r = await sb.bs("GET", "/advertisements", {"network_id": 85, "advertiser_id": other})
        assert [a["name"] for a in r.json()["advertisements"]] == ["Words"]
        assert (await sb.bs("GET", "/advertisements", {"network_id": 86})).json() == {"advertisements": []}
        assert (await sb.bs("GET", f"/advertisements/{html_ad['id']}")).json() == {"advertisement": html_ad}

        # v1 has no advertisement update.
        r = await sb.bs("PUT", f"/advertisements/{html_ad['id']}", json={"name": "New"})
        assert r.status_code == 405 and r.json() == {"error": "Method Not Allowed"}

        assert (await sb.bs("DELETE", f"/advertisements/{html_ad['id']}")).status_code == 204
        assert (await sb.bs("GET", f"/advertisements/{html_ad['id']}")).status_code == 404

    run(scenario)


def test_advertisement_validation_errors() -> None:
    async def scenario(sb: Sandbox) -> None:
        query = {"advertiser_id": await sb.advertiser()}
        cases = [
            ({"type": "html", "html": "<b>x</b>"}, {"name": ["can't be blank"]}),
            ({"name": "a", "type": "video"}, {"type": ["is not included in the list"]}),
            ({"name": "a"}, {"type": ["can't be blank"]}),
            (
                {"name": "a", "type": "static", "active_base64": "not base64!"},
                {"active_base64": ["is not valid base64"]},
            ),
            ({"name": "a", "type": "static"}, {"active_url": ["can't be blank (send active_url or active_base64)"]}),
            ({"name": "a", "type": "html"}, {"html": ["can't be blank"]}),
            ({"name": "a", "type": "text"}, {"default_text": ["can't be blank"]}),
        ]
        for body, errors in cases:
            r = await sb.bs("POST", "/advertisements", query, json=body)
            assert (r.status_code, r.json()) == (422, {"errors": errors}), body
        assert await sb.listing(type="advertisement") == []

    run(scenario)


def test_placement_quirks() -> None:
    async def scenario(sb: Sandbox) -> None:
        advertiser = await sb.advertiser()
        r = await sb.bs("POST", "/campaigns", {"advertiser_id": advertiser}, json={"name": "c"})
        campaign = r.json()["campaign"]["id"]
        r = await sb.bs(
            "POST",
            "/advertisements",
            {"advertiser_id": advertiser},
            json={"name": "t", "type": "text", "default_text": "hi"},
        )
        ad = r.json()["advertisement"]["id"]
        zone = (await sb.bs("POST", "/zones", json={"network_id": 85, "name": "z"})).json()["zone"]["id"]
        far_zone = (await sb.bs("POST", "/zones", json={"network_id": 99, "name": "far"})).json()["zone"]["id"]
        triple = {"campaign_id": campaign, "advertisement_id": ad, "zone_id": zone}

        # One string or none (fidelity-audit.md row 13): a comma string or a list is not a restriction.
        r = await sb.bs("POST", "/placements", data={**triple, "restrictions": "phone, tablet"})
        assert (r.status_code, r.json()) == (422, {"errors": {"restrictions": ["is not included in the list"]}})
        r = await sb.bs("POST", "/placements", data={**triple, "restrictions": "phone"})
        assert r.status_code == 201 and r.content == b""  # quirk: 201 with an empty body

        r = await sb.bs("GET", "/placements", {"campaign_id": campaign})
        assert r.json() == [{**triple, "restrictions": "phone"}]  # a bare array

        r = await sb.bs("POST", "/placements", json=triple)
        assert r.status_code == 422 and r.json() == {"errors": {"advertisement_id": ["has already been taken"]}}
        r = await sb.bs("POST", "/placements", json={**triple, "zone_id": far_zone})
        assert r.status_code == 422 and list(r.json()["errors"]) == ["base"]
        r = await sb.bs("POST", "/placements", json={**triple, "zone_id": 123, "campaign_id": None})
        assert r.json() == {"errors": {"campaign_id": ["can't be blank"], "zone_id": ["does not exist"]}}

        objects = await sb.listing(type="placement")
        assert [o["id"] for o in objects] == [f"{campaign}/{ad}/{zone}"]

        r = await sb.bs("DELETE", "/placements", {**triple})
        assert r.status_code == 204
        assert (await sb.bs("DELETE", "/placements", {**triple})).status_code == 404
        assert (await sb.bs("GET", "/placements", {"campaign_id": campaign})).json() == []
        deleted = await sb.listing(type="placement", include_deleted="true")
        assert [o["deleted"] for o in deleted] == [True]

        r = await sb.bs("POST", "/placements", data={**triple, "restrictions[]": ["mobile"]})
        assert r.status_code == 422 and list(r.json()["errors"]) == ["restrictions"]  # a form list
        r = await sb.bs("POST", "/placements", data=triple)
        assert r.status_code == 201  # the same triple can be placed again after a delete
        assert (await sb.bs("GET", "/placements", {"campaign_id": campaign})).json()[0]["restrictions"] is None

    run(scenario)


def test_deleting_a_parent_keeps_its_children() -> None:
    async def scenario(sb: Sandbox) -> None:
        advertiser = await sb.advertiser()
        r = await sb.bs("POST", "/campaigns", {"advertiser_id": advertiser}, json={"name": "c"})
        campaign = r.json()["campaign"]["id"]
        assert (await sb.bs("DELETE", f"/advertisers/{advertiser}")).status_code == 204
        assert (await sb.bs("GET", f"/campaigns/{campaign}")).status_code == 200

    run(scenario)


# --- errors ---


def test_auth_401_and_token_restriction() -> None:
    async def scenario(sb: Sandbox) -> None:
        unauthorized = {"error": "Invalid or missing access token"}
        for token in (None, ""):
            r = await sb.bs("GET", "/networks", token=token)
            assert (r.status_code, r.json()) == (401, unauthorized)
        assert (await sb.bs("GET", "/networks", token="anything")).status_code == 200

        await sb.control("POST", "/auth", {"platform": "broadstreet", "valid_tokens": ["good"]})
        r = await sb.bs("POST", "/advertisers", {"network_id": 1}, token="anything", json={"name": "x"})
        assert (r.status_code, r.json()) == (401, unauthorized)
        assert (await sb.bs("GET", "/networks", token="good")).status_code == 200
        assert await sb.listing() == []

        await sb.control("POST", "/auth", {"platform": "broadstreet", "valid_tokens": None})
        assert (await sb.bs("GET", "/networks", token="anything")).status_code == 200
        r = await sb.http.post("/__sandbox__/auth", json={"platform": "myspace", "valid_tokens": []})
        assert r.status_code == 400

    run(scenario)


def test_validation_and_not_found_bodies() -> None:
    async def scenario(sb: Sandbox) -> None:
        r = await sb.bs("POST", "/advertisers", {"network_id": 85}, json={"name": " "})
        assert (r.status_code, r.json()) == (422, {"errors": {"name": ["can't be blank"]}})
        r = await sb.bs("POST", "/zones", {"network_id": 85}, data={"alias": "a"})
        assert (r.status_code, r.json()) == (422, {"errors": {"name": ["can't be blank"]}})
        for path in ("/advertisers/1", "/zones/999999", "/campaigns/5", "/advertisements/5", "/no/such/route"):
            r = await sb.bs("GET", path)
            assert (r.status_code, r.json()) == (404, {"error": "Not found"}), path
        r = await sb.bs(
            "POST", "/advertisers", {"network_id": 85}, content=b"{", headers={"content-type": "application/json"}
        )
        assert r.status_code == 400

    run(scenario)


# --- faults ---


def test_rate_limit_answers_429_with_retry_after() -> None:
    async def scenario(sb: Sandbox) -> None:
        statuses = [(await sb.bs("GET", "/networks")).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]  # burst = rate = 2
        r = await sb.bs("GET", "/networks")
        assert r.json() == {"error": "Rate limit exceeded"}
        assert int(r.headers["Retry-After"]) >= 1
        for _ in range(5):  # the control API is never limited
            await sb.control("GET", "/stats")
        stats = await sb.control("GET", "/stats")
        assert stats["rate_limited"] == 2 and stats["requests"]["broadstreet"] == {"GET": 4}

        # A faster limit, scoped to the platform, refills quickly.
        await sb.control("POST", "/faults", {"platform": "broadstreet", "rate_limit": 20})
        statuses = [(await sb.bs("GET", "/networks")).status_code for _ in range(40)]
        assert statuses[:10] == [200] * 10 and 429 in statuses
        await asyncio.sleep(0.1)
        assert (await sb.bs("GET", "/networks")).status_code == 200

        await sb.control("POST", "/faults", {"platform": "broadstreet", "rate_limit": None})
        assert {(await sb.bs("GET", "/networks")).status_code for _ in range(30)} == {200}

    run(scenario, rate_limit=2)


def test_fault_rate_is_seeded_and_happens_before_the_write() -> None:
    def sequence(seed: int) -> list[int]:
        seen: list[int] = []

        async def scenario(sb: Sandbox) -> None:
            for _ in range(30):
                r = await sb.bs("GET", "/networks")
                seen.append(r.status_code)
                if r.status_code != 200:
                    assert r.json() == {"error": "Service temporarily unavailable"}
            stats = await sb.control("GET", "/stats")
            assert stats["faults"] == seen.count(503)

        run(scenario, fault_rate=0.5, seed=seed)
        return seen

    first = sequence(7)
    assert set(first) == {200, 503}
    assert sequence(7) == first

    async def always(sb: Sandbox) -> None:
        r = await sb.bs("POST", "/advertisers", {"network_id": 1}, json={"name": "x"})
        assert r.status_code == 503
        assert await sb.listing() == []  # the failed request wrote nothing
        await sb.control("POST", "/faults", {"fault_rate": 0})
        assert (await sb.bs("GET", "/networks")).status_code == 200

    run(always, fault_rate=1.0)


def test_latency_delays_platform_requests_only() -> None:
    async def scenario(sb: Sandbox) -> None:
        start = time.monotonic()
        await sb.control("GET", "/stats")
        assert time.monotonic() - start < 0.1
        for token in (TOKEN, "wrong-token-123"):  # answers and errors alike
            start = time.monotonic()
            await sb.bs("GET", "/networks", token=token)
            assert time.monotonic() - start >= 0.15
        # Counted from arrival: requests served at the same time are each answered after
        # the latency, not one latency after another.
        start = time.monotonic()
        answers = await asyncio.gather(*(sb.bs("GET", "/networks") for _ in range(5)))
        assert all(a.status_code == 200 for a in answers)
        assert 0.15 <= time.monotonic() - start < 0.3

    run(scenario, latency_ms=150)


def test_dropped_response_still_commits_the_write() -> None:
    async def scenario(sb: Sandbox) -> None:
        with pytest.raises(httpx.TransportError):
            await sb.bs("POST", "/advertisers", {"network_id": 85}, json={"name": "ghost"})
        objects = await sb.listing(type="advertiser")
        assert [o["fields"]["name"] for o in objects] == ["ghost"]
        # Reads and failed writes are answered normally.
        assert (await sb.bs("GET", "/advertisers", {"network_id": 85})).status_code == 200
        r = await sb.bs("POST", "/advertisers", {"network_id": 85}, json={"name": ""})
        assert r.status_code == 422
        with pytest.raises(httpx.TransportError):
            await sb.bs("DELETE", f"/advertisers/{objects[0]['id']}")
        assert await sb.listing(type="advertiser") == []
        stats = await sb.control("GET", "/stats")
        assert stats["dropped"] == 2

    run(scenario, drop_response_rate=1.0)


def test_reject_makes_creates_of_a_type_fail() -> None:
    async def scenario(sb: Sandbox) -> None:
        await sb.control("POST", "/faults", {"reject": [{"platform": "broadstreet", "type": "zone"}]})
        r = await sb.bs("POST", "/zones", {"network_id": 85}, json={"name": "z"})
        assert r.status_code == 422 and list(r.json()["errors"]) == ["base"]
        await sb.advertiser()  # other types still work
        await sb.control("POST", "/faults", {"reject": []})
        assert (await sb.bs("POST", "/zones", {"network_id": 85}, json={"name": "z"})).status_code == 201

    run(scenario)


def test_fault_settings_scope_and_validation() -> None:
    async def scenario(sb: Sandbox) -> None:
        described = await sb.control("POST", "/faults", {"platform": "broadstreet", "latency_ms": 5})
        assert described["platforms"]["broadstreet"]["latency_ms"] == 5
        described = await sb.control("POST", "/faults", {"fault_rate": 0.25})
        assert described["platforms"]["broadstreet"]["fault_rate"] == 0.25  # defaults flow into scopes
        assert described["default"]["latency_ms"] == 0
        for bad in ({"fault_rate": 2}, {"rate_limit": 0}, {"platform": "nope"}, {"bogus": 1}, {"seed": "x"}):
            r = await sb.http.post("/__sandbox__/faults", json=bad)
            assert r.status_code == 400 and "error" in r.json(), bad
        assert (await sb.control("POST", "/faults", {}))["default"]["fault_rate"] == 0.25  # nothing changed

    run(scenario)


# --- control API ---


def test_review_rules_are_stored() -> None:
    async def scenario(sb: Sandbox) -> None:
        await sb.control("POST", "/review", {"name_contains": "summer", "status": "rejected", "reason": "text"})
        await sb.control("POST", "/review", {"name_contains": "summer-ok", "status": "approved"})
        rules = await sb.control("GET", "/review")
        assert [r["status"] for r in rules] == ["rejected", "approved"]
        assert sb.state.reviews.outcome("acme summer-ok").status == "approved"
        assert sb.state.reviews.outcome("acme summer").reason == "text"
        assert sb.state.reviews.outcome("winter").status == "approved"
        r = await sb.http.post("/__sandbox__/review", json={"name_contains": "x", "status": "maybe"})
        assert r.status_code == 400

    run(scenario)


NO_REQUESTS_ELSEWHERE: dict[str, dict[str, int]] = {"meta": {}, "tiktok": {}, "snapchat": {}}


def test_stats_and_reset() -> None:
    async def scenario(sb: Sandbox) -> None:
        await sb.advertiser()
        await sb.bs("GET", "/networks")
        await sb.bs("DELETE", "/advertisers/10000")
        await sb.control("POST", "/auth", {"platform": "broadstreet", "valid_tokens": ["only"]})
        await sb.control("POST", "/faults", {"latency_ms": 1})
        await sb.control("POST", "/review", {"name_contains": "x", "status": "pending"})
        stats = await sb.control("GET", "/stats")
        assert stats == {
            "requests": {"broadstreet": {"POST": 1, "GET": 1, "DELETE": 1}, **NO_REQUESTS_ELSEWHERE},
            "rate_limited": 0,
            "faults": 0,
            "dropped": 0,
        }

        await sb.control("POST", "/reset")
        assert await sb.listing(include_deleted=1) == []
        assert (await sb.control("GET", "/stats"))["requests"] == {"broadstreet": {}, **NO_REQUESTS_ELSEWHERE}
        assert await sb.control("GET", "/review") == []
        assert (await sb.control("POST", "/faults", {}))["default"]["latency_ms"] == 0
        assert await sb.advertiser() == 10000  # ids start over; any token is accepted again

    run(scenario)


def test_persistence_to_a_data_file(tmp_path: Path) -> None:
    data = tmp_path / "sub" / "sandbox.json"
    with pytest.raises(ReconcilerError, match="directory does not exist"):  # a mistyped path is said, not made
        Store(data)
    data.parent.mkdir()

    async def first(sb: Sandbox) -> None:
        await sb.advertiser("kept")
        gone = await sb.advertiser("gone")
        await sb.bs("DELETE", f"/advertisers/{gone}")
        # Persisted after every write: a sandbox started now (as after a kill) sees them.
        restarted = Store(data).find("broadstreet", "advertiser", include_deleted=True)
        assert [(o.fields["name"], o.deleted) for o in restarted] == [("kept", False), ("gone", True)]

    async def second(sb: Sandbox) -> None:
        r = await sb.bs("GET", "/advertisers", {"network_id": 85})
        assert [a["name"] for a in r.json()["advertisers"]] == ["kept"]
        assert len(await sb.listing(type="advertiser", include_deleted=1)) == 2
        assert await sb.advertiser("next") == 10002  # id counters survive a restart

    run(first, data_file=data)
    run(second, data_file=data)
    journal = data.with_name(data.name + ".journal")
    assert sorted(data.parent.iterdir()) == [data, journal]  # no temp files left behind

    data.write_text("{not json")
    with pytest.raises(ReconcilerError, match="sandbox.json"):
        create_app(data)


def test_invalid_settings_are_user_errors() -> None:
    with pytest.raises(ReconcilerError, match="fault_rate"):
        create_app(fault_rate=1.5)


# --- over real HTTP ---


def test_serve_over_real_http(tmp_path: Path) -> None:
    port = free_port()
    data = tmp_path / "sandbox.json"
    code = (
        "from pathlib import Path; from reconciler.sandbox.server import serve; "
        f"serve('127.0.0.1', {port}, log_level='warning', data_file=Path({str(data)!r}))"
    )
    log = tmp_path / "server.log"
    with log.open("w") as log_file:
        server = subprocess.Popen([sys.executable, "-c", code], stdout=log_file, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=5) as http:
            deadline = time.monotonic() + 15
            while True:
                try:
                    http.get("/__sandbox__/stats")
                    break
                except httpx.TransportError:
                    assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                    time.sleep(0.05)

            token = {"access_token": TOKEN}
            r = http.post(f"{BS}/advertisers", params={**token, "network_id": 85}, data={"name": "real"})
            assert r.status_code == 201 and r.json()["advertiser"]["name"] == "real"
            assert http.get(f"{BS}/networks").status_code == 401

            http.post("/__sandbox__/faults", json={"drop_response_rate": 1})
            with pytest.raises(httpx.TransportError):  # the connection is dropped mid-response
                http.post(f"{BS}/advertisers", params={**token, "network_id": 85}, json={"name": "lost"})
            names = [o["fields"]["name"] for o in http.get("/__sandbox__/objects?type=advertiser").json()]
            assert names == ["real", "lost"]
            assert http.get("/__sandbox__/stats").json()["dropped"] == 1
        assert [o.fields["name"] for o in Store(data).find("broadstreet", "advertiser")] == ["real", "lost"]
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert "Traceback" not in log.read_text()  # a dropped response is not logged as a crash
