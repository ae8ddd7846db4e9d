"""A real server in a subprocess and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, ViewportSize, expect, sync_playwright

from tests.support import Server, free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
# While a server is down Chromium logs each refused websocket and request as a console error.
OFFLINE = (r"WebSocket connection to .* failed", r"ERR_CONNECTION_REFUSED")
WIDE: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
# A worker process starts in a second or two, slower on a loaded 2-core machine: wait for
# conditions a little longer than Playwright's default 5 s before calling them broken.
expect.set_options(timeout=15_000)

# A bare expression given to wait_for_function is polled with eval() in the page, which the page's
# Content-Security-Policy refuses (no 'unsafe-eval': SECURITY.md); the same expression as an arrow
# function is compiled over the DevTools protocol, which a page's policy does not govern.
LEADING_FUNCTION = re.compile(r"^\s*(async\s+)?(function\b|\([^()]*\)\s*=>|[\w$]+\s*=>)")
_wait_for_function = Page.wait_for_function


def _wait_for_function_under_csp(self: Page, expression: str, **kwargs: Any) -> Any:
    if not LEADING_FUNCTION.match(expression):
        expression = f"() => ({expression})"
    return _wait_for_function(self, expression, **kwargs)


Page.wait_for_function = _wait_for_function_under_csp  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "allow_console(*patterns): console errors the test provokes on purpose (regular"
        " expressions), such as the browser's own log line for a refused request",
    )


def pixels_of(page: Page, rgb: tuple[int, int, int], chart: str = "#loss-chart") -> int:
    """How many pixels of a chart's canvas (the loss chart's by default) are drawn in (about)
    this colour; 0 before the chart has a canvas."""
    count: int = page.evaluate(
        """([selector, r, g, b]) => {
          const canvas = document.querySelector(`${selector} canvas`);
          if (!canvas) return 0;
          const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
          let n = 0;
          for (let i = 0; i < data.length; i += 4)
            if (Math.abs(data[i] - r) < 40 && Math.abs(data[i + 1] - g) < 40
                && Math.abs(data[i + 2] - b) < 40 && data[i + 3] > 200) n++;
          return n;
        }""",
        [chart, *rgb],
    )
    return count


def screenshot(page: Page, name: str) -> Path:
    """Keep what the page looked like, at its current viewport size, under artifacts/browser/."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or WIDE
    path = ARTIFACTS / f"{name}-{size['width']}x{size['height']}.png"
    page.screenshot(path=str(path))
    return path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    running = Server(tmp_path / "data", free_port())
    running.start()
    yield running
    running.stop()


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in this thread while
# it is open, and the tests after the browser tests call asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/test installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page at 1280×800 that fails its test on any uncaught error or console error.

    A test that provokes an error on purpose (a refused request logs one in Chromium) names it
    with `@pytest.mark.allow_console("pattern")`; every other console error is a defect.
    """
    allowed = [
        re.compile(pattern)
        for marker in request.node.iter_markers("allow_console")
        for pattern in marker.args
    ]
    context = browser.new_context(viewport=WIDE)
    opened = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not any(p.search(message.text) for p in allowed):
            errors.append(f"console: {message.text}")

    opened.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
    opened.on("console", on_console)
    yield opened
    context.close()
    assert not errors, f"the page logged errors: {errors}"
