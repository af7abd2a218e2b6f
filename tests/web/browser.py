"""Playwright over Debian's Chromium, and the steps every browser test repeats.

The browser is the system's ``/usr/bin/chromium`` (``.ci/run`` installs it with
apt-get); Playwright never downloads one. Chromium runs headless without the
background services that would try to reach the internet, and each launch gets a
fresh temporary profile from Playwright.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web.conftest import Registry

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Office screens: the pages must work at this size.
VIEWPORT = {"width": 1366, "height": 768}
# Set to a folder (docs/screens) to keep the screenshots the user guide shows.
SCREENSHOTS_ENV = "VAULT_WEB_SCREENSHOTS"


def chromium_or_skip() -> None:
    """Skip without Chromium, unless ``VAULT_REQUIRE_BROWSER`` is set (as in CI): then fail."""
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: apt-get install chromium"
    if os.environ.get("VAULT_REQUIRE_BROWSER"):
        pytest.fail(message)
    pytest.skip(message)


def playwright_browser() -> Iterator[object]:
    """Yield a launched Chromium; close it and Playwright afterwards."""
    chromium_or_skip()
    from playwright.sync_api import sync_playwright  # noqa: PLC0415  # only when Chromium exists

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                             headless=True)
        try:
            yield browser
        finally:
            browser.close()


def log_in(page: object, base: str, registry: Registry, role: str) -> None:
    """Log the user of ``role`` in through the login form, with a TOTP code when needed."""
    user = registry.users[role]
    page.goto(f"{base}/login")  # type: ignore[attr-defined]
    page.get_by_label("用户名").fill(user.name)  # type: ignore[attr-defined]
    page.get_by_label("口令", exact=True).fill(user.password)  # type: ignore[attr-defined]
    if user.account.needs_totp:
        # Each code is accepted once, so every login moves to the next 30-second step.
        registry.clock.advance(seconds=30)
        page.get_by_label("动态口令").fill(user.code(registry.clock))  # type: ignore[attr-defined]
    with page.expect_navigation():  # type: ignore[attr-defined]
        page.get_by_role("button", name="登录").click()  # type: ignore[attr-defined]


def screenshot(page: object, name: str, tmp_path: Path) -> Path:
    """Save a PNG of the viewport into the screenshot folder (or ``tmp_path``)."""
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.png"
    page.screenshot(path=str(target))  # type: ignore[attr-defined]
    return target
