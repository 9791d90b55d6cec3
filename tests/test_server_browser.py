"""The session browser in a real headless Chromium (Debian's package, driven by Playwright):
list sessions, open one, see a message appended through the API appear without a reload,
delete a session after the confirmation. Screenshots go to the test's temporary directory;
with ``RS_UPDATE_SCREENSHOTS=1`` they replace the ones in docs/ (so a plain run leaves the tree
clean).

Chromium comes from the project's setup (scripts/setup-browser.sh, run by scripts/setup.sh with
the test extra); the test skips, saying why, only when no Chromium can be found.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi", reason="the server extra is not installed")

from _server import WRITE, auth, live_server  # noqa: E402

DOCS = Path(__file__).resolve().parent.parent / "docs"
UPDATE_DOCS = os.environ.get("RS_UPDATE_SCREENSHOTS") == "1"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = pytest.mark.slow


@pytest.fixture
def chromium() -> str:
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    if CHROMIUM is None:
        pytest.skip("no chromium on PATH: run scripts/setup-browser.sh (apt-get install "
                    "chromium)")
    return CHROMIUM


async def test_browse_live_and_delete(redis_url: str, prefix: str, chromium: str,
                                      tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    shots = DOCS if UPDATE_DOCS else tmp_path
    expect.set_options(timeout=20_000)  # a loaded CI machine: generous, still bounded
    async with live_server(redis_url, prefix) as base, \
            httpx.AsyncClient(base_url=base, headers=auth(WRITE), timeout=10) as api:
        for sid, name in (("support-42", "Refund for order 42"), ("onboarding", "Onboarding"),
                          ("old-chat", "An old chat")):
            await api.post("/v1/sessions", json={"session_id": sid, "user_id": "alice",
                                                 "name": name})
        await api.post("/v1/sessions/support-42/messages", json={"messages": [
            {"role": "system", "content": "You are a helpful support agent."},
            {"role": "user", "content": "My order 42 arrived broken. Can I get a refund?"},
            {"role": "assistant", "content": "I'm sorry to hear that! Yes: I have started "
                                             "a refund of 39.90 EUR for order 42."}]})
        await api.post("/v1/sessions/onboarding/messages",
                       json={"messages": [{"role": "user", "content": "How do I start?"}]})

        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium, args=ARGS)
            page = await browser.new_page(viewport={"width": 1200, "height": 720})
            await page.goto(base + "/")
            await page.fill("#key", WRITE)
            await page.click("#key-form button")
            await expect(page.locator("#key-state")).to_have_text("key accepted")
            await page.fill("#user", "alice")
            await page.click("#user-form button")
            items = page.locator("#sessions li")
            await expect(items).to_have_count(3)
            # newest activity first
            await expect(items.nth(0)).to_contain_text("Onboarding")
            await expect(items.nth(1)).to_contain_text("Refund for order 42")
            await expect(page.locator("#chart rect")).to_have_count(24)
            await page.screenshot(path=str(shots / "browser-list.png"))

            await items.nth(1).click()
            rows = page.locator("#messages tbody tr")
            await expect(rows).to_have_count(3)
            await expect(page.locator("#live")).to_have_text("live")
            await api.post("/v1/sessions/support-42/messages", json={"messages": [
                {"role": "user", "content": "Thanks! When will I see the money?"}]})
            await expect(rows).to_have_count(4)  # arrived over SSE, no reload
            await expect(rows.nth(3)).to_contain_text("When will I see the money?")
            await expect(rows.nth(3)).to_contain_text("user")
            await page.screenshot(path=str(shots / "browser-session.png"))

            await items.filter(has_text="An old chat").click()
            await expect(page.locator("#session-title")).to_have_text("An old chat")
            page.once("dialog", lambda d: d.dismiss())  # cancelled: nothing happens
            await page.click("#delete")
            assert (await api.get("/v1/sessions/old-chat")).status_code == 200
            page.once("dialog", lambda d: d.accept())
            await page.click("#delete")
            await expect(page.locator("#empty")).to_contain_text("was deleted")
            await expect(items).to_have_count(2)
            assert (await api.get("/v1/sessions/old-chat")).status_code == 404
            await browser.close()
