"""ADK's own web UI (``adk web``) on our server, used as a person uses it: in a real browser.

Headless Chromium (Debian's ``chromium``, which ``.ci/run`` installs) driven
by Playwright opens the dev UI of ``adk web --session_service_uri grpc://...``
whose agent runs on a scripted model (``tests.ops.test_adk_cli.AGENT``), over
our server on a SQLite file. What the page shows is checked against what our
server stores, read through our own client. A failing step leaves a
screenshot and the page's HTML under ``tests/.artifacts/adk-web/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sys
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, async_playwright, expect

from adk_grpc_sessions.client import GrpcSessionService
from tests.net import free_port
from tests.ops.test_adk_cli import _agents_dir
from tests.server_process import ServerProcess

playwright = pytest.importorskip(
    "playwright.async_api", reason="Playwright is a dev dependency: make install"
)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / ".artifacts" / "adk-web"
ADK = str(Path(sys.executable).with_name("adk"))
APP = "notes"
USER = "user"
"""The user the dev UI speaks as when the URL names none."""


def _chromium() -> str | None:
    """Debian's Chromium binary (``/usr/bin/chromium`` is a shell wrapper Playwright cannot drive)."""
    for candidate in (os.environ.get("ADK_GRPC_SESSIONS_CHROMIUM"), "/usr/lib/chromium/chromium"):
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("chromium-browser")


CHROMIUM = _chromium()
pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is missing (Debian package chromium; .ci/run installs it)"
    ),
    pytest.mark.timeout(300),
]


@contextlib.asynccontextmanager
async def _adk_web(agents: Path, grpc_address: str, home: Path) -> AsyncIterator[str]:
    """``adk web`` on a free port, storing sessions in our server; yields its dev UI's URL."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        ADK,
        "web",
        "--port",
        str(port),
        "--session_service_uri",
        f"grpc://{grpc_address}",
        str(agents),
        # A home of its own: the UI asks about telemetry once per home, and keeps nothing else.
        env={**os.environ, "HOME": str(home), "ADK_DISABLE_TELEMETRY": "1"},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with asyncio.timeout(60):
            while True:
                if process.returncode is not None:
                    stderr = await process.stderr.read() if process.stderr else b""
                    raise AssertionError(f"adk web exited early: {stderr.decode()[-2000:]}")
                try:
                    await asyncio.to_thread(
                        lambda: urllib.request.urlopen(f"{base}/list-apps", timeout=5).read()
                    )
                    break
                except (urllib.error.URLError, ConnectionError):
                    await asyncio.sleep(0.2)
        yield f"{base}/dev-ui/"
    finally:
        process.terminate()
        await asyncio.wait_for(process.communicate(), timeout=30)


class Browser:
    """One headless Chromium page, which leaves a screenshot and its HTML behind when a step fails."""

    def __init__(self, page: Page, test_name: str) -> None:
        self.page = page
        self._name = re.sub(r"[^\w.-]+", "_", test_name)

    @contextlib.asynccontextmanager
    async def step(self, name: str) -> AsyncIterator[Page]:
        """Runs one step of the test; on failure saves what the page showed, then fails."""
        try:
            yield self.page
        except BaseException:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            stem = ARTIFACTS / f"{self._name}-{name.replace(' ', '-')}"
            with contextlib.suppress(Exception):
                await self.page.screenshot(path=f"{stem}.png", full_page=True)
                html = await self.page.content()
                await asyncio.to_thread(Path(f"{stem}.html").write_text, html)
            raise


@pytest.fixture
async def browser(request: pytest.FixtureRequest) -> AsyncIterator[Browser]:
    """A page of a headless Chromium of its own."""
    assert CHROMIUM is not None
    async with async_playwright() as driver:
        chromium = await driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = await chromium.new_page(viewport={"width": 1400, "height": 900})
            page.set_default_timeout(30_000)
            yield Browser(page, request.node.name)
        finally:
            await chromium.close()


async def _open(page: Page, url: str) -> None:
    """Opens the dev UI at ``url`` and declines its telemetry question if it asks."""
    await page.goto(url)
    decline = page.get_by_role("button", name="No Thanks")
    message = page.get_by_placeholder("Type a message...")
    await decline.or_(message).first.wait_for()
    if await decline.is_visible():
        await decline.click()


async def _send(page: Page, text: str) -> None:
    """Sends ``text`` as the user and waits for the scripted agent's reply to it."""
    replies = page.get_by_text("noted", exact=True)
    before = await replies.count()
    box = page.get_by_placeholder("Type a message...")
    await box.fill(text)
    await box.press("Enter")
    await expect(replies).to_have_count(before + 1)


def _session_in(url: str) -> str:
    found = re.search(r"[?&]session=([^&]+)", url)
    assert found, f"the UI's URL names no session: {url}"
    return found.group(1)


async def _open_session_list(page: Page) -> Locator:
    """Opens the UI's session drawer; the sessions it lists, each an element titled with the session's id."""
    await page.locator("button[mattooltip='Select a session']").click()
    await page.get_by_text("Select a Session", exact=True).wait_for()
    return page.locator(".session-item .session-real-id")


async def test_a_person_chats_reloads_restarts_and_deletes_in_adk_web_over_our_server(
    browser: Browser, tmp_path: Path
) -> None:
    server = await ServerProcess(
        ["serve", "--listen", "127.0.0.1:0", "--backend", f"sqlite+aiosqlite:///{tmp_path / 'sessions.db'}"]
    ).start()
    agents = _agents_dir(tmp_path)
    try:
        address = await server.address()
        async with _adk_web(agents, address, tmp_path / "home") as ui:
            async with browser.step("first chat") as page:
                await _open(page, f"{ui}?app={APP}")
                await _send(page, "buy milk")
                await expect(page).to_have_url(re.compile(r"[?&]session=[^&]+"))
                first = _session_in(page.url)
            async with browser.step("reload shows the history") as page:
                await page.reload()
                await expect(page.get_by_text("buy milk", exact=True).first).to_be_visible()
                await expect(page.get_by_text("noted", exact=True)).to_have_count(1)
            async with browser.step("second session") as page:
                await page.get_by_role("button", name="New Session").click()
                # The UI creates the session with its first message.
                await expect(page.get_by_text("noted", exact=True)).to_have_count(0)
                await _send(page, "call mom")
                await expect(page).to_have_url(re.compile(rf"[?&]session=(?!{first})[^&]+"))
                second = _session_in(page.url)

        async with GrpcSessionService(address) as client:
            stored = await client.get_session(app_name=APP, user_id=USER, session_id=first)
            assert stored is not None
            assert [e.author for e in stored.events] == ["user", "notes", "notes", "notes"]
            texts = [p.text for e in stored.events if e.content and e.content.parts for p in e.content.parts]
            assert texts[0] == "buy milk" and texts[-1] == "noted"
            assert await client.get_user_state(app_name=APP, user_id=USER) == {"last_note": "call mom"}

        # A new adk web process: everything it shows comes from our server.
        async with _adk_web(agents, address, tmp_path / "home") as ui:
            async with browser.step("sessions listed after a restart") as page:
                await _open(page, f"{ui}?app={APP}&userId={USER}&session={first}")
                await expect(page.get_by_text("noted", exact=True)).to_have_count(1)
                listed = await _open_session_list(page)
                await expect(listed).to_have_count(2)
                for session_id in (first, second):
                    await expect(listed.and_(page.locator(f"[title='{session_id}']"))).to_be_visible()
            async with browser.step("delete from the UI") as page:
                await page.get_by_role("button", name="Delete").first.click()
                dialog = page.get_by_role("dialog")
                await expect(dialog).to_contain_text(first)
                await dialog.get_by_role("button", name="Delete").click()
                await expect(dialog).to_have_count(0)

        # The dialog closes once adk web has answered the UI's delete, which waits for ours.
        async with GrpcSessionService(address) as client:
            assert await client.get_session(app_name=APP, user_id=USER, session_id=first) is None
            listed_ids = {s.id for s in (await client.list_sessions(app_name=APP, user_id=USER)).sessions}
            assert listed_ids == {second}
    finally:
        assert await server.stop() == 0, server.stderr
