"""Snapchat reads by the page: read_many, review_many and list_all through the ad account's lists,
against the in-process sandbox, with the requests counted by /__sandbox__/stats."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from reconciler.model import RecordedResource
from reconciler.providers import snapchat as snapchat_module
from reconciler.providers.base import ErrorClass, ProviderError, Review
from reconciler.providers.snapchat import SnapchatProvider
from reconciler.refresh import refresh
from reconciler.state import State
from tests.provider_kit import API_ROOTS
from tests.test_provider_snapchat import (
    ACCOUNT,
    Sandbox,
    ad_attrs,
    campaign_attrs,
    creative_attrs,
    image,
    media_attrs,
    op,
    run,
    squad_attrs,
)

API = API_ROOTS["snapchat"]


async def direct(sb: Sandbox, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
    """A call straight to the emulated API (not through reconciler), with a token of its own."""
    form = {"grant_type": "refresh_token", "client_id": "tool", "client_secret": "tool-secret", "refresh_token": "rt"}
    token = (await sb.http.post("/snapchat/login/oauth2/access_token", data=form)).json()["access_token"]
    response = await sb.http.request(method, API + path, headers={"Authorization": f"Bearer {token}"}, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


async def put(sb: Sandbox, parent: str, plural: str, id_: str, fields: dict[str, Any]) -> None:
    """A full-object PUT of a live object with some fields changed (Snapchat's updates replace)."""
    singular = {"campaigns": "campaign", "ads": "ad", "adsquads": "adsquad"}[plural]
    [item] = (await direct(sb, "GET", f"/{plural}/{id_}"))[plural]
    body = {k: v for k, v in item[singular].items() if k not in ("created_at", "updated_at", "review_status")}
    await direct(sb, "PUT", f"/{parent}/{plural}", json={plural: [{**body, **fields}]})


async def gets(sb: Sandbox) -> int:
    return (await sb.requests())["GET"]


async def one_by_one(p: SnapchatProvider, type_: str, recorded: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {id_: await p.read(type_, id_, attrs) for id_, attrs in recorded.items()}


def test_read_many_equals_read_for_untouched_drifted_paused_and_deleted_campaigns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(snapchat_module, "PAGE_SIZE", 50)  # the smallest page Snapchat allows: several pages

    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        recorded: dict[str, dict[str, Any]] = {}
        for i in range(130):
            attrs = campaign_attrs(f"c{i}")
            recorded[(await p.create(op("campaign", attrs))).id] = attrs
        for i in range(12):  # in the account, not recorded: listed, then left out
            await p.create(op("campaign", campaign_attrs(f"other{i}")))
        ids = list(recorded)
        drifted, paused, deleted = ids[3:6], ids[60:63], ids[100:104]
        for id_ in drifted:
            await put(sb, f"adaccounts/{ACCOUNT}", "campaigns", id_, {"name": f"renamed {id_[:4]}"})
        for id_ in paused:
            await put(sb, f"adaccounts/{ACCOUNT}", "campaigns", id_, {"status": "PAUSED"})
        for id_ in deleted:
            await direct(sb, "DELETE", f"/campaigns/{id_}")

        before = await gets(sb)
        live = await p.read_many("campaign", recorded)
        sent = await gets(sb) - before
        # 138 live campaigns in the account: 3 pages of 50, then one read() per deleted id.
        assert sent <= math.ceil(len(recorded) / 50) + len(deleted) + 1
        assert sent == 3 + len(deleted)

        assert live == await one_by_one(p, "campaign", recorded)
        assert [live[i]["name"] for i in drifted] == [f"renamed {i[:4]}" for i in drifted]
        assert {live[i]["status"] for i in paused} == {"PAUSED"}
        assert [live[i] for i in deleted] == [None] * len(deleted)
        untouched = set(ids) - {*drifted, *paused, *deleted}
        assert all(live[i] == recorded[i] for i in untouched)

    run(scenario)


def test_many_deleted_objects_are_told_by_one_more_pass_not_a_get_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapchat_module, "PAGE_SIZE", 50)

    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        recorded = {}
        for i in range(130):
            attrs = campaign_attrs(f"c{i}")
            recorded[(await p.create(op("campaign", attrs))).id] = attrs
        deleted = list(recorded)[::3]  # 44 deleted out of band
        for id_ in deleted:
            await direct(sb, "DELETE", f"/campaigns/{id_}")
        before = await gets(sb)
        live = await p.read_many("campaign", recorded)
        # 86 live: 2 pages; then all 130 with the deleted ones: 3 pages. Not 44 single GETs.
        assert await gets(sb) - before == 2 + 3
        assert live == await one_by_one(p, "campaign", recorded)
        assert {id_ for id_, attrs in live.items() if attrs is None} == set(deleted)

    run(scenario)


def test_read_many_of_every_type_over_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapchat_module, "PAGE_SIZE", 50)

    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        made: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in ("campaign", "adsquad", "media", "creative", "ad")}

        async def create(type_: str, attrs: dict[str, Any], **kw: Any) -> str:
            id_ = (await p.create(op(type_, attrs, **kw))).id
            made[type_][id_] = attrs
            return id_

        campaign = await create("campaign", campaign_attrs())
        squads = [await create("adsquad", squad_attrs(campaign, name=f"squad{i}")) for i in range(3)]
        asset = image(tmp_path)
        media = await create("media", media_attrs(asset), asset=asset)
        creative = await create("creative", creative_attrs(media))
        ads = [await create("ad", ad_attrs(squads[i % 3], creative, name=f"ad{i}")) for i in range(56)]
        await put(sb, f"adsquads/{squads[0]}", "ads", ads[0], {"status": "PAUSED"})
        await put(sb, f"adsquads/{squads[1]}", "ads", ads[1], {"name": "changed by hand"})
        await direct(sb, "DELETE", f"/ads/{ads[2]}")
        await direct(sb, "DELETE", f"/adsquads/{squads[2]}")
        capped = {"bid_strategy": "LOWEST_COST_WITH_MAX_BID", "bid_micro": 2_000_000}
        await put(sb, f"campaigns/{campaign}", "adsquads", squads[1], capped)

        for type_, recorded in made.items():
            before = await gets(sb)
            live = await p.read_many(type_, recorded)
            sent = await gets(sb) - before
            gone = sum(1 for v in live.values() if v is None)
            assert sent <= math.ceil(len(recorded) / 50) + gone + 1, type_
            assert live == await one_by_one(p, type_, recorded), type_
        live_ads = await p.read_many("ad", made["ad"])
        assert live_ads[ads[0]]["status"] == "PAUSED" and live_ads[ads[1]]["name"] == "changed by hand"
        assert live_ads[ads[2]] is None
        # The ads of a deleted ad squad are still listed (the sandbox keeps children, as Snapchat's docs say nothing
        # of cascades): read() and read_many agree on them either way.
        assert (await p.read_many("adsquad", made["adsquad"]))[squads[1]]["bid_strategy"] == "LOWEST_COST_WITH_MAX_BID"
        assert await p.read_many("campaign", {}) == {}

    run(scenario)


def test_a_refresh_sends_one_get_per_type_and_page(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        state = State.empty()

        async def create(type_: str, name: str, attrs: dict[str, Any], **kw: Any) -> str:
            applied = await p.create(op(type_, attrs, **kw))
            address = f"snap-us:{type_}/{name}"
            state.resources[address] = RecordedResource(address, applied.id, type_, "snap-us", applied.attributes)
            return applied.id

        asset = image(tmp_path)
        media = await create("media", "banner", media_attrs(asset), asset=asset)
        for i in range(40):
            campaign = await create("campaign", f"c{i}", campaign_attrs(f"c{i}"))
            squad = await create("adsquad", f"c{i}", squad_attrs(campaign, name=f"c{i}"))
            creative = await create("creative", f"c{i}.banner", creative_attrs(media, name=f"c{i}.banner"))
            await create("ad", f"c{i}.banner", ad_attrs(squad, creative, name=f"c{i}.banner"))
        assert len(state.resources) == 161
        before = await gets(sb)
        refreshed, notes = await refresh(state, {"snap-us": p})
        assert await gets(sb) - before == 5  # one page of each type (1000 a page): not 161 GETs
        assert notes == [] and refreshed.resources == state.resources

    run(scenario)


def test_review_many_reads_the_ads_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(snapchat_module, "PAGE_SIZE", 50)

    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        await sb.control("POST", "/review", {"name_contains": "bad", "status": "rejected", "reason": "Misleading"})
        await sb.control("POST", "/review", {"name_contains": "wait", "status": "pending"})
        campaign = (await p.create(op("campaign", campaign_attrs()))).id
        squad = (await p.create(op("adsquad", squad_attrs(campaign)))).id
        asset = image(tmp_path)
        media = (await p.create(op("media", media_attrs(asset), asset=asset))).id
        creative = (await p.create(op("creative", creative_attrs(media)))).id
        recorded = {}
        for name in ["bad one", "wait here", *(f"ok{i}" for i in range(58))]:
            attrs = ad_attrs(squad, creative, name=name)
            recorded[(await p.create(op("ad", attrs))).id] = attrs
        gone = list(recorded)[-1]
        await direct(sb, "DELETE", f"/ads/{gone}")

        before = await gets(sb)
        verdicts = await p.review_many("ad", recorded)
        assert await gets(sb) - before == 2 + 1  # two pages, and one GET telling the deleted ad is gone
        alive = {id_: attrs for id_, attrs in recorded.items() if id_ != gone}
        assert {id_: verdicts[id_] for id_ in alive} == {id_: await p.review("ad", id_, a) for id_, a in alive.items()}
        assert verdicts[gone] is None
        first, second = list(recorded)[:2]
        assert verdicts[first] == Review("rejected", "Misleading") and verdicts[second] == Review("pending")

        before = await gets(sb)
        assert await p.review_many("campaign", {campaign: {}}) == {campaign: None}
        assert await p.review_many("adsquad", {squad: {}}) == {squad: None}
        assert await gets(sb) == before  # types that are not reviewed cost nothing

    run(scenario)


def test_list_all_pages_through_the_account_and_leaves_out_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapchat_module, "PAGE_SIZE", 50)

    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        ids = [(await p.create(op("campaign", campaign_attrs(f"c{i}", status="PAUSED" if i % 2 else "ACTIVE")))).id
               for i in range(110)]  # fmt: skip
        for id_ in ids[10:15]:
            await direct(sb, "DELETE", f"/campaigns/{id_}")
        other = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
        await p.create(op("campaign", campaign_attrs("elsewhere", account=other)))  # another account: not listed
        before = await gets(sb)
        listed = await p.list_all("campaign")
        assert await gets(sb) - before == 3  # 105 live: pages of 50, 50 and 5
        assert [c.id for c in listed] == ids[:10] + ids[15:]  # paused kept, deleted left out, in creation order
        assert {c.type for c in listed} == {"campaign"} and listed[1].row["status"] == "PAUSED"
        assert listed[0].row["name"] == "c0" and "start_time" in listed[0].row  # the platform's raw fields

        squads = [(await p.create(op("adsquad", squad_attrs(ids[0], name=f"s{i}")))).id for i in range(3)]
        await direct(sb, "DELETE", f"/adsquads/{squads[1]}")
        listed_squads = await p.list_all("adsquad")
        assert [s.id for s in listed_squads] == [squads[0], squads[2]]
        # The account's currency rides along on squad rows, for the budget (Snapchat's rows lack it).
        assert {s.row["currency"] for s in listed_squads} == {"USD"}
        asset = image(tmp_path)
        media = (await p.create(op("media", media_attrs(asset), asset=asset))).id
        [listed_media] = await p.list_all("media")
        assert listed_media.id == media and listed_media.row["media_status"] == "READY"
        assert await p.download(listed_media.row["download_link"]) == Path(asset.path).read_bytes()

    run(scenario)


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/snapchat/v1/adaccounts/x/campaigns?cursor=a",  # another host
        "http://sandbox.invalid:8080/snapchat/v1/adaccounts/x/campaigns",  # another port
        "https://sandbox.invalid/snapchat/v1/adaccounts/x/campaigns",  # another scheme
        "http://sandbox.invalid/other/adaccounts/x/campaigns",  # outside the API root
        "http://sandbox.invalid/snapchat/v1/../../__sandbox__/reset",  # climbing out
        "http://sandbox.invalid/snapchat/v1evil/campaigns",  # a prefix that is not a path segment
    ],
)
def test_a_next_link_off_the_api_is_never_followed(link: str) -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        assert str(p._api).startswith("http://sandbox.invalid/snapchat/v1"), p._api  # the in-process sandbox
        with pytest.raises(ProviderError, match="refusing to follow a next_link") as refused:
            p._within_api(link)
        assert refused.value.error_class is ErrorClass.NETWORK
        path, query = p._within_api("http://sandbox.invalid/snapchat/v1/adaccounts/x/ads?limit=50&cursor=abc")
        assert (path, query) == ("/adaccounts/x/ads", {"limit": "50", "cursor": "abc"})

    run(scenario)


# --- the emulator's lists refuse and page as Snapchat's do ---


async def raw(sb: Sandbox, path: str, **params: Any) -> Any:
    form = {"grant_type": "refresh_token", "client_id": "tool", "client_secret": "tool-secret", "refresh_token": "rt"}
    token = (await sb.http.post("/snapchat/login/oauth2/access_token", data=form)).json()["access_token"]
    return await sb.http.get(API + path, params=params, headers={"Authorization": f"Bearer {token}"})


def test_the_sandbox_refuses_page_sizes_and_cursors_snapchat_refuses() -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        await p.create(op("campaign", campaign_attrs()))
        path = f"/adaccounts/{ACCOUNT}/campaigns"
        for limit in ("49", "1001", "0", "many"):
            response = await raw(sb, path, limit=limit)
            body = response.json()
            assert response.status_code == 400, limit
            assert (body["request_status"], body["error_code"]) == ("ERROR", "E4002")
            assert "between 50 and 1000" in body["debug_message"]
        for cursor in ("not-a-cursor", "YWZ0ZXI6bm9uZQ"):  # garbage, and a well-formed one naming no object
            response = await raw(sb, path, limit="50", cursor=cursor)
            assert response.status_code == 400 and response.json()["error_code"] == "E4002"
        assert (await raw(sb, path, limit="50")).status_code == 200
        assert (await raw(sb, path, limit="1000")).status_code == 200

    run(scenario)


def test_sandbox_cursors_survive_deletes_and_deleted_entities_are_read_on_request() -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        ids = [(await p.create(op("campaign", campaign_attrs(f"c{i}")))).id for i in range(120)]
        path = f"/adaccounts/{ACCOUNT}/campaigns"
        first = (await raw(sb, path, limit="50")).json()
        assert [c["campaign"]["id"] for c in first["campaigns"]] == ids[:50]
        # Deleted between two pages: the next page neither skips nor repeats a live campaign.
        for id_ in (ids[49], ids[50], ids[10]):
            await direct(sb, "DELETE", f"/campaigns/{id_}")
        link = first["paging"]["next_link"]
        assert link.startswith("http://sandbox.invalid" + API + path + "?")
        second = (await sb.http.get(link, headers={"Authorization": "Bearer x"})).status_code
        assert second == 401  # the link carries no token: the client sends its own
        path2, query = p._within_api(link)
        page2 = (await raw(sb, path2, **query)).json()
        page3 = (await raw(sb, path2, **p._within_api(page2["paging"]["next_link"])[1])).json()
        assert [c["campaign"]["id"] for c in page2["campaigns"] + page3["campaigns"]] == ids[51:]
        assert page3["paging"] == {}
        with_deleted = (await raw(sb, path, limit="1000", read_deleted_entities="true")).json()["campaigns"]
        assert len(with_deleted) == 120
        assert [c["campaign"]["id"] for c in with_deleted if c["campaign"].get("deleted")] == [
            ids[10],
            ids[49],
            ids[50],
        ]
        assert len((await raw(sb, path, limit="1000")).json()["campaigns"]) == 117

    run(scenario)


def test_sandbox_lists_ad_squads_and_ads_by_account_and_serves_media_files(tmp_path: Path) -> None:
    async def scenario(sb: Sandbox, p: SnapchatProvider) -> None:
        c1 = (await p.create(op("campaign", campaign_attrs("one")))).id
        c2 = (await p.create(op("campaign", campaign_attrs("two")))).id
        s1 = (await p.create(op("adsquad", squad_attrs(c1)))).id
        s2 = (await p.create(op("adsquad", squad_attrs(c2)))).id
        asset = image(tmp_path, 7)
        media = (await p.create(op("media", media_attrs(asset), asset=asset))).id
        creative = (await p.create(op("creative", creative_attrs(media)))).id
        a1 = (await p.create(op("ad", ad_attrs(s1, creative, name="a1")))).id
        a2 = (await p.create(op("ad", ad_attrs(s2, creative, name="a2")))).id
        squads = (await raw(sb, f"/adaccounts/{ACCOUNT}/adsquads", limit="50")).json()["adsquads"]
        assert [s["adsquad"]["id"] for s in squads] == [s1, s2]
        ads = (await raw(sb, f"/adaccounts/{ACCOUNT}/ads", limit="50")).json()["ads"]
        assert [a["ad"]["id"] for a in ads] == [a1, a2] and ads[0]["ad"]["review_status"] == "APPROVED"
        other = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
        assert (await raw(sb, f"/adaccounts/{other}/ads", limit="50")).json()["ads"] == []

        [item] = (await raw(sb, f"/media/{media}")).json()["media"]
        link = item["media"]["download_link"]
        served = await sb.http.get(link)  # no Authorization header: a CDN URL
        assert served.status_code == 200 and served.content == Path(asset.path).read_bytes()
        assert served.headers["content-type"] == "image/png"
        assert (await sb.http.get(link.rsplit("/", 1)[0] + "/" + "0" * 64)).status_code == 404

    run(scenario)
