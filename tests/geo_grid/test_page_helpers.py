"""The helpers every page script shares (``geoGrid.el``, ``fill``, ``pointIn``, ``apiError``,
``requestJSON``, ``say`` in ``geo_grid/static/js/geo_grid_map.js``), in a real browser.

The case pages, the planner's workspace and the identify panel each had their own copy; they now
call these, so what a person sees on every page rests on them: text always goes in as text, an
API error is told in Chinese by the page's words, else the words every page gives the status, and
a write carries ``X-Requested-With`` (the API's CSRF guard). No demo database: the script is
served from ``geo_grid/static`` and the API answer is made up by the browser's router.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from browser import browser_available, offline_page, serve_directory

STATIC = Path(__file__).resolve().parents[2] / "geo_grid" / "static"
needs_browser = pytest.mark.skipif(not browser_available(), reason="playwright/chromium missing")

HTML = '<!doctype html><meta charset="utf-8"><p id="msg"></p><script src="js/geo_grid_map.js"></script>'

DOM = """() => {
  const gg = window.geoGrid;
  const node = gg.el("p", {text: "<b>x</b>", className: "c", "data-k": "v"},
                     ["a", null, undefined, "", gg.el("i", {text: "b"})]);
  const box = gg.el("div", {}, ["old"]);
  gg.fill(box, ["new", gg.el("span", {text: "s"})]);
  const msg = document.getElementById("msg");
  gg.say(msg, "保存没有成功", "error", "plan: not clean");
  const quiet = gg.say(null, "nowhere");  // a page without the status line: nothing happens
  return {html: node.outerHTML, box: box.innerHTML, msg: msg.outerHTML, quiet: quiet === undefined};
}"""

POINT_IN = """() => {
  const square = {type: "Polygon", coordinates: [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
                                                  [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]]};
  const multi = {type: "MultiPolygon", coordinates: [square.coordinates,
                                                     [[[20, 0], [30, 0], [30, 10], [20, 0]]]]};
  const p = window.geoGrid.pointIn;
  return [p(1, 1, square), p(5, 5, square), p(11, 1, square), p(29, 5, multi), p(21, 5, multi),
          p(1, 1, {type: "Point", coordinates: [1, 1]})];
}"""

ERRORS = """() => {
  const e = window.geoGrid.apiError;
  const own = {403: "本页的无权说法"};
  const said = (x) => [x.message, x.status, x.detail];
  return {
    own: said(e(403, {error: {message: "forbidden", field: "role"}}, own)),
    common: said(e(401, {error: {message: "not logged in"}}, own)),
    generic: said(e(500, null, own)),
    network: said(e(0, {error: {message: "network error"}})),
    byFunction: said(e(422, {error: {message: "bad", field: "name"}},
                       (s, err) => s === 422 ? "字段 " + err.field : undefined)),
    functionDeclines: said(e(503, {error: {message: "db down"}}, () => undefined)),
    textBody: said(e(502, "Bad Gateway")),
  };
}"""

REQUEST = """async () => {
  const gg = window.geoGrid;
  const failure = (status, body) => gg.apiError(status, body, {409: "已被他人修改"});
  const ok = await gg.requestJSON("api/probe?ok=1", {method: "POST", body: "{}",
                                  headers: {"Content-Type": "application/json"}}, failure);
  let refused = null;
  try { await gg.requestJSON("api/probe?ok=0", {}, failure); }
  catch (err) { refused = [err.message, err.status, err.detail]; }
  return {ok: ok, refused: refused};
}"""


@needs_browser
def test_shared_page_helpers_in_a_browser():
    seen: list[dict] = []

    def probe(route) -> None:
        request = route.request
        seen.append({"method": request.method, **request.headers})
        if "ok=1" in request.url:
            route.fulfill(status=200, content_type="application/json", body='{"id": 7}')
        else:
            body = {"error": {"message": "plan changed", "field": "plan"}}
            route.fulfill(status=409, content_type="application/json", body=json.dumps(body))

    with serve_directory(STATIC) as base, offline_page() as (page, log):
        page.route("**/api/probe*", probe)
        page.route(f"{base}helpers.html", lambda r: r.fulfill(content_type="text/html", body=HTML))
        page.goto(f"{base}helpers.html")
        dom = page.evaluate(DOM)
        inside = page.evaluate(POINT_IN)
        errors = page.evaluate(ERRORS)
        answers = page.evaluate(REQUEST)

    # the browser itself logs the made-up 409 as a failed load; nothing else went wrong
    assert [e for e in log.console_errors if "status of 409" not in e] == []
    assert not log.external_requests
    # text goes in as text, never HTML; null, undefined and "" children are skipped
    assert dom["html"] == '<p class="c" data-k="v">&lt;b&gt;x&lt;/b&gt;a<i>b</i></p>'
    assert dom["box"] == "new<span>s</span>"
    assert dom["msg"] == (
        '<p id="msg" class="gg-msg gg-error">保存没有成功<details><summary>技术信息</summary>'
        "<code>plan: not clean</code></details></p>"
    )
    assert dom["quiet"]
    # inside, in the hole, outside, in a MultiPolygon's second part, outside it; a point is no area
    assert inside == [True, False, False, True, False, False]
    assert errors == {
        "own": ["本页的无权说法", 403, "forbidden"],
        "common": ["登录已失效，请重新登录后再试。", 401, "not logged in"],
        "generic": ["操作没有成功（错误 500），请稍后再试。", 500, ""],
        "network": ["操作没有成功（错误 0），请稍后再试。", 0, "network error"],
        "byFunction": ["字段 name", 422, "bad"],
        "functionDeclines": ["系统暂时无法访问数据库，请稍后再试。", 503, "db down"],
        "textBody": ["操作没有成功（错误 502），请稍后再试。", 502, "Bad Gateway"],
    }
    assert answers == {"ok": {"id": 7}, "refused": ["已被他人修改", 409, "plan changed"]}
    # every request says it comes from a page script (the API's CSRF guard) and asks for JSON
    assert [s["method"] for s in seen] == ["POST", "GET"]
    for s in seen:
        assert s["x-requested-with"] == "geo-grid" and s["accept"] == "application/json"
    assert seen[0]["content-type"] == "application/json"
