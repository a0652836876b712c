"""Objects made directly through the emulated Broadstreet API (httpx against the sandbox), as a
team's existing ad server account would hold them: not through reconciler."""

from __future__ import annotations

import base64
from typing import Any

import httpx

from tests import provider_kit as kit

API = "/broadstreet/api/1"
TOKEN = "bs-direct-Tok3n-9d1e"
NETWORK = 85


class BroadstreetApi:
    """Calls to the emulated Broadstreet API as the official Ruby gem makes them: creates under the
    parent, form-encoded bodies (the token stays in the query string, which the API also takes)."""

    def __init__(self, http: httpx.AsyncClient, network_id: int = NETWORK) -> None:
        self.http = http
        self.network_id = network_id

    async def call(self, method: str, path: str, params: dict[str, Any] | None = None, **kw: Any) -> httpx.Response:
        return await self.http.request(method, API + path, params={"access_token": TOKEN, **(params or {})}, **kw)

    async def ok(self, method: str, path: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        response = await self.call(method, path, params, **kw)
        assert response.is_success, (response.status_code, response.text)
        return response.json() if response.content else None

    async def advertiser(self, name: str, **fields: Any) -> str:
        data = await self.ok("POST", f"/networks/{self.network_id}/advertisers", data={"name": name, **fields})
        return str(data["advertiser"]["id"])

    async def zone(self, name: str, **fields: Any) -> str:
        data = await self.ok("POST", f"/networks/{self.network_id}/zones", data={"name": name, **fields})
        return str(data["zone"]["id"])

    async def campaign(self, advertiser_id: str, name: str, **fields: Any) -> str:
        body = {"name": name, "start_date": "2026-06-01", "end_date": "2026-08-31", **fields}
        data = await self.ok("POST", f"/advertisers/{advertiser_id}/campaigns", data=body)
        return str(data["campaign"]["id"])

    async def static_ad(self, advertiser_id: str, name: str, image: bytes, destination: str) -> str:
        body = {
            "name": name,
            "type": "static",
            "active_base64": base64.b64encode(image).decode(),
            "destination": destination,
        }
        return await self._ad(advertiser_id, body)

    async def text_ad(self, advertiser_id: str, name: str, text: str, destination: str) -> str:
        body = {"name": name, "type": "text", "default_text": text, "destination": destination}
        return await self._ad(advertiser_id, body)

    async def html_ad(self, advertiser_id: str, name: str, html: str) -> str:
        return await self._ad(advertiser_id, {"name": name, "type": "html", "html": html})

    async def _ad(self, advertiser_id: str, body: dict[str, Any]) -> str:
        data = await self.ok("POST", f"/advertisers/{advertiser_id}/advertisements", data=body)
        return str(data["advertisement"]["id"])

    async def placement(self, campaign_id: str, ad_id: str, zone_id: str, restrictions: str | None = None) -> str:
        body: dict[str, Any] = {"campaign_id": campaign_id, "advertisement_id": ad_id, "zone_id": zone_id}
        if restrictions is not None:
            body["restrictions"] = restrictions
        await self.ok("POST", "/placements", data=body)
        return f"{campaign_id}/{ad_id}/{zone_id}"

    async def delete_placement(self, id_: str) -> None:
        campaign_id, ad_id, zone_id = id_.split("/")
        params = {"campaign_id": campaign_id, "advertisement_id": ad_id, "zone_id": zone_id}
        await self.ok("DELETE", "/placements", params)


def gets(before: dict[str, int], after: dict[str, int]) -> int:
    """GET requests Broadstreet served between two request counts."""
    return after.get("GET", 0) - before.get("GET", 0)


async def requests(sandbox: kit.AsyncSandbox) -> dict[str, int]:
    """Broadstreet's request counts by method, from /__sandbox__/stats."""
    return dict((await sandbox.control("GET", "/stats"))["requests"]["broadstreet"])
