"""`reconciler ui` over real HTTP on 127.0.0.1: pages, the JSON API, SSE, and the security rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from reconciler.apply.events import Event
from reconciler.model import Action, Change
from reconciler.ui.layout import MAX_NODES, layout
from tests.e2e import TOKEN, Sandbox, broadstreet_project, run_reconciler, sandbox_server
from tests.ui_helpers import UI_TOKEN, sse_events, ui_server

SECRETS = (TOKEN, UI_TOKEN)
APPLY_EVENT_KEYS = set(Event("op:done").to_json())  # the keys `apply --events` always writes
FREEZE = """\
kind: Policy
name: freeze-all
freeze:
  - {from: "2000-01-01T00:00", to: "2099-12-31T23:59", reason: test freeze}
"""


@pytest.fixture(scope="module")
def slow_sandbox() -> Iterator[Sandbox]:
    """A sandbox answering in 150 ms: an apply lasts long enough to be watched and raced."""
    with sandbox_server("--latency-ms", "150") as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def live(slow_sandbox: Sandbox, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The dashboard of a Broadstreet project whose target is the sandbox server (the live connection)."""
    project = broadstreet_project(tmp_path_factory.mktemp("ui"), slow_sandbox.url)
    with ui_server(project) as url:
        yield url, project


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_pages_and_api_before_any_apply(live: tuple[str, Path]) -> None:
    url, _ = live
    home = httpx.get(url + "/")
    assert home.status_code == 200 and "text/html" in home.headers["content-type"]
    assert 'data-campaign="camp0"' in home.text and 'data-campaign="camp1"' in home.text
    plan = httpx.get(url + "/plan")
    assert "Plan: 17 to create, 0 to update, 0 to replace, 0 to delete." in plan.text
    assert plan.text.count('<g class="node create"') == 17  # the graph, drawn in the page
    assert "bs-main:placement/camp0.c0-a.top" in plan.text  # changes with their fields
    assert "name         = &#34;ACME Corp&#34;" in plan.text
    assert "advertiser_id = (known after apply: bs-main:advertiser/acme)" in plan.text
    assert "No runs recorded yet" in httpx.get(url + "/runs").text
    status = httpx.get(url + "/api/status").json()
    assert {(c["campaign"], c["target"], c["health"]) for c in status["campaigns"]} == {
        ("camp0", "bs-main", "warning"),
        ("camp1", "bs-main", "warning"),
    }
    assert httpx.get(url + "/api/plan").json()["summary"]["create"] == 17
    filtered = httpx.get(url + "/api/status", params={"health": "critical"}).json()
    assert filtered["campaigns"] == [] and filtered["counts"] == {"healthy": 0, "warning": 0, "critical": 0}
    for response in (home, plan):
        assert_no_secret(response.text)


def test_apply_from_the_api_streams_its_events_and_a_second_is_refused(
    live: tuple[str, Path], slow_sandbox: Sandbox
) -> None:
    url, _ = live
    started = httpx.post(url + "/api/runs", json={"action": "apply"})
    assert started.status_code == 202
    job = started.json()
    assert job["events_url"] == f"/runs/{job['id']}/events"

    second = httpx.post(url + "/api/runs", json={"action": "apply"})
    assert second.status_code == 409
    assert job["id"] in second.json()["error"] and second.json()["running"]["id"] == job["id"]
    assert httpx.post(url + "/api/runs", json={"action": "plan"}).status_code == 202  # plans may run beside it

    headers, events = sse_events(url + job["events_url"])
    assert headers["content-type"].startswith("text/event-stream")
    assert all(set(e) >= APPLY_EVENT_KEYS for e in events)
    assert [e["event"] for e in events].count("op:done") == 17
    final = events[-1]
    assert final["event"] == "apply:done" and final["message"] == "ok" and final["counts"]["done"] == 17

    polled = httpx.get(url + f"/api/runs/{job['id']}").json()
    assert polled["status"] == "succeeded" and polled["done"] == 17 and polled["total"] == 17
    assert polled["run_id"] == final["run_id"]
    assert len([o for o in slow_sandbox.objects() if o["type"] == "placement"]) == 8

    # The run is in the history, and the pages show it.
    recorded = httpx.get(url + f"/api/runs/{final['run_id']}").json()
    assert recorded["outcome"] == "succeeded" and len(recorded["operations"]) == 17
    assert final["run_id"] in httpx.get(url + "/runs").text
    assert "bs-main:advertiser/acme" in httpx.get(url + f"/runs/{final['run_id']}").text
    home = httpx.get(url + "/").text
    assert "healthy" in home and final["run_id"] in home  # last apply, per campaign

    # A late subscriber gets the whole stream again; a reconnecting one resumes after its last id.
    assert sse_events(url + job["events_url"])[1] == events
    rest = sse_events(url + job["events_url"], headers={"Last-Event-ID": str(len(events) - 2)})[1]
    assert rest == events[-1:]
    for text in (str(events), str(recorded), home):
        assert_no_secret(text)

    again = httpx.post(url + "/api/runs", json={"action": "apply"}).json()
    assert sse_events(url + again["events_url"])[1][-1]["message"] == "nothing to do"
    assert httpx.get(url + f"/api/runs/{again['id']}").json()["status"] == "succeeded"


def test_apply_from_the_ui_obeys_policies(live: tuple[str, Path], slow_sandbox: Sandbox) -> None:
    url, project = live
    policy = project / "specs" / "freeze.yaml"
    policy.write_text(FREEZE)
    (project / "specs" / "main.yaml").write_text(
        (project / "specs" / "main.yaml").read_text().replace("display_name: Sidebar", "display_name: Side bar")
    )
    writes = slow_sandbox.writes()
    try:
        job = httpx.post(url + "/api/runs", json={"action": "apply"}).json()
        _, events = sse_events(url + job["events_url"])
        assert [e["event"] for e in events] == ["apply:done"]
        assert "freeze-all" in events[0]["message"]
        polled = httpx.get(url + f"/api/runs/{job['id']}").json()
        assert polled["status"] == "failed" and "freeze-all" in polled["error"]
        assert slow_sandbox.writes() == writes  # refused before anything was sent
        assert "freeze-all" in httpx.get(url + "/plan").text  # the plan page lists the violation
    finally:
        policy.unlink()


def test_failures_are_streamed_as_they_happen(live: tuple[str, Path], slow_sandbox: Sandbox) -> None:
    url, project = live
    specs = project / "specs" / "main.yaml"
    specs.write_text(specs.read_text() + "---\nkind: Zone\nname: footer\ntarget: bs-main\ndisplay_name: Footer\n")
    slow_sandbox.control("POST", "faults", json={"reject": [{"platform": "broadstreet", "type": "zone"}]})
    try:
        job = httpx.post(url + "/api/runs", json={"action": "apply"}).json()
        _, events = sse_events(url + job["events_url"])
    finally:
        slow_sandbox.control("POST", "faults", json={"reject": []})
    errors = [e for e in events if e["event"] == "op:error"]
    assert [e["address"] for e in errors] == ["bs-main:zone/footer"] and errors[0]["error_class"] == "VALIDATION"
    assert events[-1]["event"] == "apply:done" and events[-1]["message"] == "failed"
    polled = httpx.get(url + f"/api/runs/{job['id']}").json()
    assert polled["status"] == "failed" and polled["failed"] == 1
    assert httpx.get(url + f"/api/runs/{polled['run_id']}").json()["outcome"] == "failed"


def test_bad_requests(live: tuple[str, Path]) -> None:
    url, _ = live
    for body in ({"action": "destroy"}, ["apply"], None):
        answer = httpx.post(url + "/api/runs", json=body)
        assert answer.status_code == 400 and answer.json()["field"] == "action"
    assert httpx.get(url + "/api/runs/job-nope").status_code == 404
    assert httpx.get(url + "/runs/job-nope/events").status_code == 404
    assert httpx.get(url + "/runs/20990101T000000Z-abcdef").status_code == 404


def test_state_changing_requests_need_the_same_origin(live: tuple[str, Path]) -> None:
    url, _ = live
    for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"}, {"Referer": "http://evil.example/x"}):
        answer = httpx.post(url + "/api/runs", json={"action": "plan"}, headers=headers)
        assert answer.status_code == 403, headers
    same = httpx.post(url + "/api/runs", json={"action": "plan"}, headers={"Origin": url})
    assert same.status_code == 202
    # DNS rebinding: another name resolved to 127.0.0.1 is not this dashboard.
    assert httpx.get(url + "/api/status", headers={"Host": "evil.example"}).status_code == 421


def test_the_graph_all_resources_or_changed_only(live: tuple[str, Path]) -> None:
    url, _ = live  # applied by now: most resources have nothing to do
    changed_only = httpx.get(url + "/plan").text
    everything = httpx.get(url + "/plan", params={"graph": "all"}).text
    assert changed_only.count('<g class="node noop"') == 0 < everything.count('<g class="node noop"')
    assert everything.count('<g class="node ') >= 17


def test_a_huge_graph_is_drawn_in_part() -> None:
    changes = [Change(f"t:zone/z{n}", "t", "zone", Action.CREATE, None, {}) for n in range(MAX_NODES + 50)]
    drawing = layout(changes)
    assert len(drawing.nodes) == MAX_NODES and drawing.left_out == 50


def test_other_addresses_need_a_token(project: Path) -> None:
    result = run_reconciler(project, "ui", "--host", "0.0.0.0", "--sandbox")
    assert result.returncode == 1
    assert "RECONCILER_UI_TOKEN" in result.stderr and "Traceback" not in result.stderr


def test_token_bearer_and_login_cookie(project: Path) -> None:
    with ui_server(project, "--sandbox", host="0.0.0.0", ui_token=UI_TOKEN) as url:
        assert httpx.get(url + "/api/status").status_code == 401
        assert httpx.get(url + "/api/status", headers={"Authorization": "Bearer wrong"}).status_code == 401
        page = httpx.get(url + "/plan", headers={"Accept": "text/html"})
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/plan"
        bearer = {"Authorization": f"Bearer {UI_TOKEN}"}
        paths = ("/", "/plan", "/runs", "/api/status", "/api/plan")
        answers = [httpx.get(url + path, headers=bearer) for path in paths]
        assert all(a.status_code == 200 for a in answers)

        login = httpx.get(url + "/login")
        assert login.status_code == 200 and 'name="token"' in login.text
        wrong = httpx.post(url + "/login", data={"token": "guess", "next": "/plan"})
        assert wrong.status_code == 401 and "Set-Cookie" not in wrong.headers
        right = httpx.post(url + "/login", data={"token": UI_TOKEN, "next": "//evil.example/"})
        assert right.status_code == 303 and right.headers["location"] == "/"  # never sent off-site
        cookie = right.cookies["reconciler_ui_session"]
        assert "HttpOnly" in right.headers["set-cookie"] and "SameSite=strict" in right.headers["set-cookie"]
        with httpx.Client(base_url=url, cookies={"reconciler_ui_session": cookie}) as browser:
            assert browser.get("/plan").status_code == 200
            assert browser.post("/api/runs", json={"action": "plan"}, headers={"Origin": url}).status_code == 202
            assert browser.post("/api/runs", json={"action": "plan"},
                                headers={"Origin": "http://evil.example"}).status_code == 403  # fmt: skip
        forged = httpx.get(url + "/api/status", cookies={"reconciler_ui_session": "0" * 64})
        assert forged.status_code == 401
        cross_login = httpx.post(url + "/login", data={"token": UI_TOKEN}, headers={"Origin": "http://evil.example"})
        assert cross_login.status_code == 403
        for answer in [*answers, login, wrong, right]:
            assert_no_secret(answer.text + str(answer.headers))
