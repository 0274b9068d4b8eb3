"""The coverage map (``/map``) of every district of a city: bytes sent and first paint in
headless Chromium with the network cut off (issue 16: first paint < 2 s, page ≤ 3 MB).

Against the store the CLI uses (``geo-grid demo load --city 3201`` first) it starts the server
(``bench/city_api.py``'s way: warm before it measures) or uses ``--url``. For each district it
first asks ``/map?district=CODE`` once (the page is built and cached then; that time is printed
as the cold build), then opens it in Chromium (``tests/browser.py``: every request leaving the
machine aborted and listed) and waits for the map and ``--settle-ms`` more for its vector tiles,
then reports:

* the bytes of every answer the page received, by kind: the HTML, the map assets (Leaflet and
  plugins, served by the API), the vector tiles (department layers too big to inline);
* first paint and first contentful paint (the browser's own ``performance`` entries) and the
  load event, in milliseconds after navigation started;
* requests that failed or would have left the machine, and console errors.

    python bench/map_page.py [--districts 320115,320113] [--url URL] [--settle-ms 1500]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _common import stop  # noqa: E402
from city_api import admin_headers, load_average, served  # noqa: E402


def _kind(url: str) -> str:
    path = httpx.URL(url).path
    if path.startswith("/tiles/"):
        return "tiles"
    if path.startswith("/map"):
        return "html"
    if path.startswith("/static/") or path.startswith("/assets"):
        return "assets"
    return "api"


def measure(base: str, district: str, headers: dict, settle_ms: int, shot: Path) -> dict:
    """One district's page: cold build time, bytes by kind, paint timings, problems."""
    from browser import offline_page

    t = time.perf_counter()
    first = httpx.get(f"{base}/map", params={"district": district}, headers=headers, timeout=900)
    cold_s = time.perf_counter() - t
    sizes: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    failed: list[str] = []
    with offline_page() as (page, log):
        page.set_extra_http_headers(headers)

        def on_response(response) -> None:
            try:
                body = response.body()
            except Exception:  # noqa: BLE001 (a redirect or an aborted answer has none)
                return
            kind = _kind(response.url)
            sizes[kind] += len(body)
            counts[kind] += 1

        page.on("response", on_response)
        page.on("requestfailed", lambda req: failed.append(f"{req.url} {req.failure}"))
        page.goto(f"{base}/map?district={district}", wait_until="load", timeout=300_000)
        page.wait_for_selector(".leaflet-container", timeout=300_000)
        page.wait_for_timeout(settle_ms)
        paints = dict(page.evaluate(
            "() => performance.getEntriesByType('paint').map(e => [e.name, e.startTime])"
        ))  # fmt: skip
        load_ms = page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0];"
            " return n ? n.loadEventEnd : null; }"
        )
        page.screenshot(path=str(shot))
        external, errors = list(log.external_requests), list(log.console_errors)
    return {
        "district": district, "status": first.status_code, "cold_s": cold_s,
        "html_bytes": len(first.content), "sizes": dict(sizes), "counts": dict(counts),
        "first_paint_ms": paints.get("first-paint"),
        "fcp_ms": paints.get("first-contentful-paint"), "load_ms": load_ms,
        "failed": failed, "external": external, "errors": errors,
    }  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--districts", default=None, help="comma-separated codes (default: all)")
    ap.add_argument("--url", default=None)
    ap.add_argument("--settle-ms", type=int, default=1500)
    ap.add_argument("--shots", type=Path, default=Path(".geo-grid") / "bench-map")
    args = ap.parse_args()

    headers = admin_headers()
    proc, base = served(args.url, 1800.0)
    try:
        codes = (args.districts.split(",") if args.districts else
                 [d["code"] for d in httpx.get(f"{base}/api/v1/districts", headers=headers,
                                               timeout=60).json()["data"]])  # fmt: skip
        args.shots.mkdir(parents=True, exist_ok=True)
        worst_paint, worst_bytes = 0.0, 0
        for code in codes:
            r = measure(base, code, headers, args.settle_ms, args.shots / f"map-{code}.png")
            total = sum(r["sizes"].values())
            worst_paint = max(worst_paint, r["first_paint_ms"] or float("inf"))
            worst_bytes = max(worst_bytes, total)
            by_kind = ", ".join(f"{k} {v / 1e6:.2f} MB ({r['counts'][k]})"
                                for k, v in sorted(r["sizes"].items()))  # fmt: skip
            print(f"{code}: HTTP {r['status']}, built cold in {r['cold_s']:.1f} s; "
                  f"{total / 1e6:.2f} MB in all ({by_kind}); first paint "
                  f"{r['first_paint_ms'] or -1:.0f} ms, FCP {r['fcp_ms'] or -1:.0f} ms, load "
                  f"{r['load_ms'] or -1:.0f} ms; failed {len(r['failed'])}, external "
                  f"{len(r['external'])}, console errors {len(r['errors'])} (load {load_average()})")  # fmt: skip
            for problem in (r["failed"] + r["external"] + r["errors"])[:5]:
                print(f"    {problem[:200]}")
        print(f"worst: first paint {worst_paint:.0f} ms (goal < 2000), page {worst_bytes / 1e6:.2f}"
              f" MB (goal ≤ 3)")  # fmt: skip
    finally:
        if proc is not None:
            stop(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
