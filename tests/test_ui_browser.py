"""The dashboard in a real browser: Debian's headless Chromium driven by Playwright.

Skipped, saying why, where /usr/bin/chromium or playwright is missing. Screenshots go to a
temporary directory (RECONCILER_UI_SCREENSHOTS=DIR keeps them there); with
RECONCILER_UI_UPDATE_DOCS=1 the dashboard's also replaces docs/dashboard.png.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from reconciler.sandbox import PLATFORMS, snapchat
from tests.e2e import Sandbox, sandbox_server
from tests.ui_helpers import UI_TOKEN, ui_server

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
REPO = Path(__file__).resolve().parent.parent

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

MISSING = (
    f"no browser: {CHROMIUM} is not installed (apt install chromium)" if not CHROMIUM.exists()
    else "playwright is not installed (pip install -e '.[test]')" if sync_playwright is None
    else None
)  # fmt: skip
if MISSING and os.environ.get("RECONCILER_TEST_REQUIRE_BROWSER"):  # CI (.ci/run): a skip would hide a failure
    pytest.fail(f"{MISSING}; RECONCILER_TEST_REQUIRE_BROWSER is set, so the browser tests must run", pytrace=False)
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = Path(os.environ.get("RECONCILER_UI_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The dashboard of the example specs (make demo's), on the sandbox."""
    project = tmp_path_factory.mktemp("demo")
    shutil.copytree(REPO / "specs", project / "specs")
    (project / "state").mkdir()
    with ui_server(project, "--sandbox") as url:
        yield url, project


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, demo: tuple[str, Path]) -> Iterator[Page]:
    """A page that fails the test on a script error or a request to anywhere but the dashboard."""
    url, _ = demo
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    problems: list[Any] = []
    page.on("pageerror", lambda error: problems.append(error))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("request", lambda r: problems.append(r.url) if not r.url.startswith(url) else None)
    yield page
    context.close()
    assert problems == []


def test_every_page_before_the_first_apply(page: Page, demo: tuple[str, Path], shots: Path) -> None:
    url, _ = demo
    page.goto(url + "/")
    expect(page.locator("tr.campaign")).to_have_count(7)
    expect(page.locator(".tile.warning .count")).to_have_text("7")  # nothing applied yet
    page.goto(url + "/plan")
    expect(page.locator("#plan-summary")).to_contain_text("Plan: 50 to create")
    expect(page.locator("#plan-graph g.node")).to_have_count(50)
    expect(page.locator("details.target")).to_have_count(4)
    page.screenshot(path=shots / "plan.png", full_page=True)
    page.goto(url + "/runs")
    expect(page.locator("main")).to_contain_text("No runs recorded yet")


def test_an_apply_started_from_the_api_finishes_in_the_page(page: Page, demo: tuple[str, Path], shots: Path) -> None:
    url, _ = demo
    job = httpx.post(url + "/api/runs", json={"action": "apply"}).json()
    page.goto(url + job["url"])
    expect(page.locator("#job-status")).to_have_text("succeeded", timeout=60_000)
    expect(page.locator("#counts")).to_contain_text("50 / 50 operations · 0 failed")
    expect(page.locator("#outcome")).to_have_text("Apply ok.")
    expect(page.locator("#log tr.op-done")).to_have_count(50)
    expect(page.locator("#bar")).to_have_attribute("style", re.compile(r"width: 100%"))
    page.screenshot(path=shots / "apply.png", full_page=True)
    page.locator("#run-link a").click()
    expect(page.locator("h1")).to_contain_text("succeeded")
    expect(page.locator("table.operations tbody tr")).to_have_count(50)
    page.screenshot(path=shots / "run.png", full_page=True)
    page.goto(url + "/runs")
    expect(page.locator("table.runs tbody tr")).to_have_count(1)
    page.screenshot(path=shots / "runs.png", full_page=True)


def test_the_dashboard_after_it(page: Page, demo: tuple[str, Path], shots: Path) -> None:
    url, project = demo
    summer = project / "specs" / "acme" / "summer.yaml"
    summer.write_text(summer.read_text().replace("daily: 50.00", "daily: 65.00"))  # a change not applied yet
    page.goto(url + "/")
    expect(page.locator(".tile.healthy .count")).to_have_text("5")
    expect(page.locator(".tile.warning .count")).to_have_text("2")  # acme-summer on meta-us and tiktok-us
    expect(page.locator("tr.campaign[data-campaign='acme-summer'][data-target='meta-us']")).to_contain_text(
        "plan: 65.00 USD"
    )
    page.screenshot(path=shots / "dashboard-after-apply.png", full_page=True)
    page.select_option("select[name=target]", "meta-us")
    page.click("form.filters button")
    expect(page.locator("tr.campaign")).to_have_count(2)
    assert "target=meta-us" in page.url


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Sandbox, Path]]:
    """The example specs' dashboard on the live connection, every target at `sandbox serve` (whose reviews
    a test can set), applied once."""
    project = tmp_path_factory.mktemp("served")
    shutil.copytree(REPO / "specs", project / "specs")
    (project / "state").mkdir()
    with sandbox_server() as sandbox:
        prefixes = {platform.name: platform.prefix for platform in PLATFORMS}

        def point(match: re.Match[str]) -> str:
            platform = match.group(1)
            auth = f"auth_url: {sandbox.url}{snapchat.MOUNT}{snapchat.TOKEN_PATH}\n" if platform == "snapchat" else ""
            return f"{match.group(0)}api_base_url: {sandbox.url}{prefixes[platform]}\n{auth}"

        targets = project / "specs" / "targets.yaml"
        targets.write_text(re.sub(r"^platform: (\w+)\n", point, targets.read_text(), flags=re.M))
        credentials = ("META_ACCESS_TOKEN", "TIKTOK_ACCESS_TOKEN", "SNAPCHAT_REFRESH_TOKEN", "SNAPCHAT_CLIENT_ID",
                       "SNAPCHAT_CLIENT_SECRET")  # fmt: skip
        with ui_server(project, env={name: f"{name.lower()}-{UI_TOKEN}" for name in credentials}) as url:
            job = httpx.post(url + "/api/runs", json={"action": "apply"}).json()
            assert httpx.get(url + job["events_url"], timeout=60).status_code == 200  # the stream ends with it
            summer = project / "specs" / "acme" / "summer.yaml"
            summer.write_text(summer.read_text().replace("daily: 50.00", "daily: 65.00"))  # not applied yet
            yield url, sandbox, project


def test_rejected_ads_show_with_their_reasons(
    browser: Browser, served: tuple[str, Sandbox, Path], shots: Path
) -> None:
    url, sandbox, _ = served
    sandbox.control("POST", "review", json={"name_contains": "northwind-320x50", "status": "rejected",
                                            "reason": "landing page does not load"})  # fmt: skip
    sandbox.control("POST", "review", json={"name_contains": "summer-vertical", "status": "pending"})
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(url + "/")
    expect(page.locator(".tile.critical .count")).to_have_text("2")  # northwind-launch on meta-us and snap-us
    row = page.locator("tr.campaign[data-campaign='northwind-launch'][data-target='snap-us']")
    expect(row).to_contain_text("critical")
    expect(row).to_contain_text("rejected: landing page does not load")
    expect(page.locator("tr.campaign[data-campaign='acme-summer'][data-target='tiktok-us']")).to_contain_text(
        "awaits review"
    )
    assert UI_TOKEN not in page.content()  # the credentials' values appear nowhere
    page.screenshot(path=shots / "dashboard.png", full_page=True)
    if os.environ.get("RECONCILER_UI_UPDATE_DOCS"):
        shutil.copyfile(shots / "dashboard.png", REPO / "docs" / "dashboard.png")
    page.goto(url + "/?health=critical")
    expect(page.locator("tr.campaign")).to_have_count(2)
    page.close()


def test_the_apply_button_and_failures_as_they_happen(
    browser: Browser, served: tuple[str, Sandbox, Path], shots: Path
) -> None:
    url, sandbox, project = served
    zones = project / "specs" / "zones.yaml"
    zones.write_text(zones.read_text() + "---\nkind: Zone\nname: footer\ntarget: bs-main\ndisplay_name: Footer\n")
    sandbox.control("POST", "faults", json={"reject": [{"platform": "broadstreet", "type": "zone"}]})
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.goto(url + "/plan")
    expect(page.locator("#plan-summary")).to_contain_text("1 to create, 2 to update")
    page.click("button[data-start=apply]")
    expect(page.locator("#job-status")).to_have_text("failed", timeout=60_000)
    expect(page.locator("#failures li")).to_have_count(1)
    expect(page.locator("#failures")).to_contain_text("bs-main:zone/footer (create): VALIDATION")
    expect(page.locator("#counts")).to_contain_text("3 / 3 operations · 1 failed")
    page.screenshot(path=shots / "apply-failed.png", full_page=True)
    page.goto(url + "/")  # the budgets went out: only the reviews are left to worry about
    expect(page.locator(".tile.warning .count")).to_have_text("2")
    page.close()


def test_plan_again_from_the_page(page: Page, demo: tuple[str, Path]) -> None:
    url, _ = demo
    page.goto(url + "/plan")
    page.click("button[data-start=plan]")
    expect(page.locator("#job-status")).to_have_text("succeeded", timeout=30_000)
    expect(page.locator("#outcome")).to_contain_text("Plan: ")


def test_login_form(browser: Browser, demo: tuple[str, Path], shots: Path) -> None:
    _, project = demo
    with ui_server(project, "--sandbox", ui_token=UI_TOKEN) as url:
        page = browser.new_page()
        page.goto(url + "/runs")
        expect(page).to_have_url(url + "/login?next=/runs")
        page.fill("input[name=token]", "wrong")
        page.click("form.login button")
        expect(page.locator("form.login .error")).to_be_visible()
        page.fill("input[name=token]", UI_TOKEN)
        page.click("form.login button")
        expect(page).to_have_url(url + "/runs")
        assert UI_TOKEN not in page.content()
        page.screenshot(path=shots / "login-then-runs.png", full_page=True)
        page.close()
