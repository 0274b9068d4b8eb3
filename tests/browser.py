"""Load a page in headless Chromium with the network cut off and report what happened.

Every map page must work on an intranet with no internet. :func:`load_page` opens a URL (``file://``
or ``http://127.0.0.1``) in Debian's ``/usr/bin/chromium`` through Playwright, aborts and records
every request that would leave the machine, collects console errors and uncaught exceptions,
reads the paint timings, takes a PNG screenshot and measures whether it shows anything.

PIL is not a dependency, so the screenshot is decoded by the browser itself (drawn on a canvas in
a blank page) to count colours.

Usage in a test::

    from tests.browser import browser_available, load_page, serve_directory

    report = load_page(path.as_uri(), tmp_path / "shot.png")
    assert not report.external_requests and not report.console_errors
"""

from __future__ import annotations

import base64
import contextlib
import functools
import http.server
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

__all__ = [
    "CANVAS_INK",
    "CHROMIUM",
    "OfflineLog",
    "PageReport",
    "browser_available",
    "first_paint",
    "is_local_url",
    "load_page",
    "offline_page",
    "record_timing",
    "serve_directory",
]

CHROMIUM = os.environ.get("GEO_GRID_CHROMIUM", "/usr/bin/chromium")
_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

_COLOUR_STATS = """async (dataUrl) => {
  const img = new Image();
  img.src = dataUrl;
  await img.decode();
  const c = document.createElement("canvas");
  c.width = img.width; c.height = img.height;
  const ctx = c.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, c.width, c.height).data;
  const counts = new Map();
  let sum = 0, sum2 = 0;
  for (let i = 0; i < d.length; i += 4) {
    const key = (d[i] << 16) | (d[i + 1] << 8) | d[i + 2];
    counts.set(key, (counts.get(key) || 0) + 1);
    const lum = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
    sum += lum; sum2 += lum * lum;
  }
  const n = d.length / 4, mean = sum / n;
  let top = 0;
  for (const v of counts.values()) top = Math.max(top, v);
  return {distinct: counts.size, std: Math.sqrt(Math.max(0, sum2 / n - mean * mean)),
          dominant: top / n};
}"""

#: Share of the overlay canvases' pixels painted (0 when nothing is drawn on a canvas).
CANVAS_INK = """() => {
  let painted = 0, total = 0;
  for (const c of document.querySelectorAll(".leaflet-overlay-pane canvas")) {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    for (let i = 3; i < d.length; i += 4) { total++; if (d[i] > 0) painted++; }
  }
  return total ? painted / total : 0;
}"""


@dataclass
class PageReport:
    """What a page did while loading offline."""

    url: str
    screenshot: Path
    external_requests: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    first_paint_ms: float | None = None
    first_contentful_paint_ms: float | None = None
    load_ms: float | None = None
    distinct_colours: int = 0
    luminance_std: float = 0.0
    dominant_share: float = 1.0
    canvas_ink: float = 0.0
    layer_control_text: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def blank(self) -> bool:
        """A single flat colour (or nearly): nothing was drawn."""
        return self.distinct_colours < 8 or self.luminance_std < 2.0 or self.dominant_share > 0.98


def is_local_url(url: str) -> bool:
    """True for file:, data:, blob:, about: and http(s) to this machine.

    >>> is_local_url("file:///tmp/a.html"), is_local_url("http://127.0.0.1:8000/map")
    (True, True)
    >>> is_local_url("https://cdn.jsdelivr.net/npm/leaflet")
    False
    """
    parts = urlsplit(url)
    if parts.scheme in ("file", "data", "blob", "about", "chrome-error"):
        return True
    return parts.scheme in ("http", "https", "ws", "wss") and parts.hostname in _LOCAL_HOSTS


_FIRST_PAINT = "() => (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime"


def first_paint(page) -> float:
    """When the page first drew something (ms after its navigation started): its first
    contentful paint, waited for (headless Chromium may draw only after ``load``)."""
    page.wait_for_function("() => performance.getEntriesByName('first-contentful-paint').length")
    return round(page.evaluate(_FIRST_PAINT))


def record_timing(**facts) -> None:
    """Append ``facts`` (a page's first paint: ``page``, ``role``, ``viewport``,
    ``first_contentful_paint_ms``; or a journey's ``journey``, ``seconds``) as one JSON line to
    the file ``GEO_GRID_TIMINGS`` names (nothing without it): what ``bench/pages.py`` tabulates."""
    import json

    path = os.environ.get("GEO_GRID_TIMINGS")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps(facts, ensure_ascii=False) + "\n")


@functools.cache
def browser_available() -> bool:
    """Playwright importable and the Chromium binary present (tests skip otherwise)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 (stdlib signature)
        pass


@contextlib.contextmanager
def serve_directory(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) and yield its base URL ending in ``/``."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class OfflineLog:
    """What an :func:`offline_page` saw: requests it cut off, errors the page raised and the
    dialogs a script opened (``alert(1)`` of injected markup; each is dismissed)."""

    external_requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


@contextlib.contextmanager
def offline_page(
    viewport: tuple[int, int] = (1280, 800),
    cookies: list[dict] | None = None,
    *,
    locale: str | None = None,
) -> Iterator[tuple[object, OfflineLog]]:
    """A Playwright page in headless Chromium with every non-local request aborted and recorded.

    The one way tests open a browser: the brief's flags, service workers blocked, console errors
    and uncaught exceptions collected in the log. ``cookies`` (Playwright's cookie dicts, e.g. the
    API's session cookie from ``/login``) are set before the first request. ``locale``
    (``zh-CN``) is the browser's language, which decides how it draws its own controls (a date
    field's placeholder); None keeps Chromium's default.
    """
    from playwright.sync_api import sync_playwright

    log = OfflineLog()

    def route(r) -> None:
        if is_local_url(r.request.url):
            r.continue_()
        else:
            log.external_requests.append(r.request.url)
            r.abort()

    def on_console(msg) -> None:
        if msg.type == "error":
            log.console_errors.append(msg.text)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=_ARGS)
        try:
            context = browser.new_context(
                viewport={"width": viewport[0], "height": viewport[1]},
                service_workers="block",
                **({"locale": locale} if locale else {}),
            )
            if cookies:
                context.add_cookies(cookies)
            context.route("**/*", route)
            page = context.new_page()
            page.on("console", on_console)
            page.on("pageerror", lambda exc: log.console_errors.append(f"pageerror: {exc}"))

            def on_dialog(dialog) -> None:
                log.dialogs.append(f"{dialog.type}: {dialog.message}")
                dialog.dismiss()

            context.on("dialog", on_dialog)
            yield page, log
        finally:
            browser.close()


def load_page(
    url: str,
    screenshot: Path,
    *,
    viewport: tuple[int, int] = (1280, 800),
    wait_selector: str = ".leaflet-container",
    settle_ms: int = 600,
    timeout_ms: int = 20_000,
    evaluate: dict[str, str] | None = None,
    cookies: list[dict] | None = None,
) -> PageReport:
    """Open ``url`` offline, wait for ``wait_selector`` and ``settle_ms``, and report.

    ``evaluate`` maps names to JavaScript expressions (functions) run in the page afterwards;
    their results land in ``report.extra``.
    """
    screenshot = Path(screenshot)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    report = PageReport(url=url, screenshot=screenshot)

    with offline_page(viewport, cookies) as (page, log):
        report.external_requests = log.external_requests
        report.console_errors = log.console_errors
        page.on(
            "requestfailed",
            lambda req: report.failed_requests.append(f"{req.url} {req.failure}"),
        )
        page.goto(url, wait_until="load", timeout=timeout_ms)
        if wait_selector:
            page.wait_for_selector(wait_selector, timeout=timeout_ms)
        page.wait_for_timeout(settle_ms)
        paints = page.evaluate(
            "() => performance.getEntriesByType('paint').map(e => [e.name, e.startTime])"
        )
        timings = dict(paints)
        report.first_paint_ms = timings.get("first-paint")
        report.first_contentful_paint_ms = timings.get("first-contentful-paint")
        report.load_ms = page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0];"
            " return n ? n.loadEventEnd : null; }"
        )
        report.canvas_ink = page.evaluate(CANVAS_INK)
        control = page.query_selector(".leaflet-control-layers")
        report.layer_control_text = control.inner_text() if control else ""
        png = page.screenshot(path=str(screenshot), full_page=False)
        for name, script in (evaluate or {}).items():
            report.extra[name] = page.evaluate(script)

        blank = page.context.new_page()
        stats = blank.evaluate(
            _COLOUR_STATS, "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        )
        report.distinct_colours = int(stats["distinct"])
        report.luminance_std = float(stats["std"])
        report.dominant_share = float(stats["dominant"])
    return report
