"""First paint of each page and the time of each journey of issue 15, in headless Chromium offline.

``python bench/pages.py [--screenshots DIR] [--json FILE]``: runs the browser tests that open the
pages as their users do and walk the issue's journeys, with every request off 127.0.0.1 refused
(:func:`tests.browser.offline_page`), and prints what they measured as two tables:

- each page's first contentful paint (ms after its navigation started) and, for the map pages and
  ``/docs``, when it was ready (the map drawn with its search box or info box, Swagger UI's
  Authorize button): ``/map``, ``/map/indicators``, ``/cases/new``, ``/cases``, ``/cases/{id}``,
  ``/plans``, ``/plans/{id}``, ``/docs``, for the role that uses each, on a desk (1280-1366 px) or
  a phone (390 × 844) screen, in a fresh browser (cold) or one that has loaded a page of the site
  before (warm: the assets cached); a map page is built once and cached by the server (the
  ``server`` column: the first request for it since the server started, or cached);
- the journeys (a) a dispatcher files a case at ``/cases/new`` from a noisy typed address,
  (b) a grid worker accepts and handles it with photos, another verifies, a dispatcher closes,
  (c) a planner splits an over-full grid, staffs it and publishes, (d) a developer authorizes in
  ``/docs`` and calls ``/api/v1/locate``: seconds from the first page's navigation to the last
  step's answer, typing at an operator's pace (25 ms a key) included.

The journeys are the tests themselves (``tests/api/test_case_pages.py``, ``test_plan_pages.py``,
``test_pages.py``, ``test_map_views.py``): one implementation of each, and a figure is only printed
for a journey that passed its checks. They write their figures through ``GEO_GRID_TIMINGS``
(:func:`tests.browser.record_timing`). The tests build their own demo database first (1-2 min,
not counted). The machine's load is printed with the figures: on a shared machine they vary.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: The tests that measure, as pytest node ids.
TESTS = (
    "tests/api/test_map_views.py::test_the_search_box_finds_communities_roads_and_door_plates",
    "tests/api/test_map_views.py::test_the_base_map_writes_the_road_where_it_runs",
    "tests/api/test_map_views.py::test_a_street_leaders_indicators_name_the_street_and_say_why",
    "tests/api/test_map_views.py::"
    "test_on_a_phone_a_grid_worker_opens_on_their_grid_and_nothing_covers_search",
    "tests/api/test_case_pages.py::test_journey_a_dispatcher_files_from_a_noisy_address",
    "tests/api/test_case_pages.py::test_journey_b_accept_handle_with_photos_verify_close",
    "tests/api/test_case_pages.py::"
    "test_every_page_per_role_loads_offline_fits_a_phone_and_reads_chinese",
    "tests/api/test_plan_pages.py::"
    "test_journey_c_a_planner_splits_an_overfull_grid_staffs_it_and_publishes",
    "tests/api/test_pages.py::test_swagger_ui_logs_in_and_tries_locate_offline",
)
PAGE_ORDER = ("/map", "/map/indicators", "/cases/new", "/cases", "/cases?box=done", "/cases/{id}",
              "/plans", "/plans/{id}", "/docs")  # fmt: skip
JOURNEYS = {
    "a": "调度员在 /cases/new 按口述地址（含错字）受理，提交前看到网格与在岗人员",
    "b": "网格员签收、上传处置前后照片、办结；他人核查；调度员结案",
    "c": "规划员新建方案、分割超员网格、填写新网格人员、发布，/map 显示新网格",
    "d": "开发者离线打开 /docs、授权、调用 /api/v1/locate",
}


def run_tests(timings: Path, screenshots: Path | None) -> int:
    """Run :data:`TESTS` with their figures going to ``timings``; pytest's exit status."""
    env = {**os.environ, "GEO_GRID_TIMINGS": str(timings)}
    if screenshots is not None:
        screenshots.mkdir(parents=True, exist_ok=True)
        env["GEO_GRID_SCREENSHOTS"] = str(screenshots.resolve())
    cmd = [sys.executable, "-m", "pytest", *TESTS, "-q", "-p", "no:cacheprovider", "-o",
           "addopts=-ra"]  # fmt: skip
    return subprocess.call(cmd, cwd=REPO, env=env)


def read(timings: Path) -> tuple[list[dict], list[dict]]:
    """The page rows and the journey rows of a timings file (JSON lines)."""
    rows = [json.loads(line) for line in timings.read_text(encoding="utf-8").splitlines() if line]
    return [r for r in rows if "page" in r], [r for r in rows if "journey" in r]


def _cell(value) -> str:
    return "—" if value is None else f"{value:,.0f}" if isinstance(value, float) else str(value)


def page_table(pages: list[dict]) -> str:
    """Markdown: page, role, screen, browser, server, first paint and ready (ms), by page then
    role."""
    order = {p: i for i, p in enumerate(PAGE_ORDER)}
    pages = sorted(pages, key=lambda r: (order.get(r["page"], 99), r.get("role", ""),
                                         r.get("viewport", ""), r.get("browser", ""),
                                         r.get("server", "")))  # fmt: skip
    lines = [
        "| 页面 | 角色 | 屏幕 | 浏览器 | 服务器 | 首次绘制 ms | 就绪 ms |",
        "|---|---|---|---|---|---:|---:|",
    ]
    for r in pages:
        lines.append(
            f"| `{r['page']}` | {r.get('role', '')} | {r.get('viewport', 'desk')} | "
            f"{r.get('browser', 'cold')} | {r.get('server', '')} | "
            f"{_cell(r.get('first_contentful_paint_ms'))} | {_cell(r.get('ready_ms'))} |"
        )
    return "\n".join(lines)


def journey_table(journeys: list[dict]) -> str:
    """Markdown: journey, what it is, seconds (the median when run several times)."""
    lines = ["| 旅程 | 内容 | 秒 |", "|---|---|---:|"]
    by = {}
    for r in journeys:
        by.setdefault(r["journey"], []).append(float(r["seconds"]))
    for key in sorted(by):
        lines.append(f"| {key} | {JOURNEYS.get(key, '')} | {statistics.median(by[key]):.1f} |")
    missing = sorted(set(JOURNEYS) - set(by))
    if missing:
        lines.append(f"| {', '.join(missing)} | （未测得：测试未通过或被跳过） | — |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--screenshots", type=Path, help="keep the pages' PNG screenshots here")
    parser.add_argument("--json", type=Path, help="also write the raw figures (JSON lines) here")
    parser.add_argument("--from-file", type=Path, help="tabulate figures already measured")
    args = parser.parse_args(argv)
    started = time.monotonic()
    if args.from_file:
        timings, status = args.from_file, 0
    else:
        timings = Path(tempfile.mkstemp(prefix="geo-grid-pages-", suffix=".jsonl")[1])
        status = run_tests(timings, args.screenshots)
    pages, journeys = read(timings)
    if args.json and not args.from_file:
        args.json.write_text(timings.read_text(encoding="utf-8"), encoding="utf-8")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"\n{os.cpu_count()} CPUs, load average {load}; "
          f"{time.monotonic() - started:.0f} s in all (tests {'passed' if status == 0 else 'FAILED'})\n")  # fmt: skip
    print(page_table(pages))
    print()
    print(journey_table(journeys))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
