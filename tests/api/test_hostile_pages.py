"""Every page with hostile text in every stored text it shows, loaded in headless Chromium.

Issue 12: a case address ``<!--<script>`` stopped ``/map/cases`` from rendering for everyone
whose area held the case. Here every text a page shows is made hostile in the store (case
address and description, a grid's, its community's and a layer's name, the names on the grid's
roster, a plan's note; a user name and ``next`` typed into the login form) and every page is
loaded offline as a logged-in person sees it. Each must render (its layers draw), run no script of
the text's (no dialog, no console error) and show the text verbatim, in the page itself and in the
tooltips and popups of the features that carry it, inserted into the page as Leaflet inserts them.
The case pages too: one case, a queued one, the inbox, and the intake form's address preview.

The hostile rows are throwaway or restored, so the other tests sharing the session's demo
database see it as before: a scratch layer (retired at the end) with a scratch plan, new cases
(the unplaced one rejected at the end), and names changed in place are put back in ``finally``.
"""

from __future__ import annotations

import contextlib

import pytest
from auth import session_cookies
from browser import CANVAS_INK, browser_available, offline_page

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not browser_available(), reason="playwright/chromium missing"),
]

#: ``<!--<script>`` swallowed the rest of the page into a script; ``</script>…`` would end one;
#: the attribute break-out opens an element; U+2028/U+2029 ended JavaScript strings before
#: ES2019; ``&lt;`` must stay text; braces are Jinja (branca re-parses rendered elements).
HOSTILE = (
    "<!--<script> </script><script>alert(1)</script> \"'><img src=x onerror=alert(1)> "
    "a\u2028b\u2029c &lt;b&gt;&amp; {{ 7*7 }}{% if 1 %}"
)


def hostile(label: str) -> str:
    """The hostile text of one stored field, labelled so a test can tell where it shows."""
    return f"{label}：{HOSTILE}"


# ------------------------------------------------------------------------------------ store
def _rows(session, sql: str, **params) -> list:
    from sqlalchemy import text

    return list(session.execute(text(sql), params).mappings())


def _execute(session, sql: str, **params) -> None:
    from sqlalchemy import text

    session.execute(text(sql), params)


def _rename(demo, code: str) -> dict:
    """Make the grid ``code``, its community and its roster people hostile; returns the old
    names (what :func:`_restore` puts back)."""
    from geo_grid.db import repos
    from geo_grid.db.session import session_scope

    with session_scope() as s:
        gid = repos.grids.resolve_generation(s, "unified", district="320113")["id"]
        grid = _rows(s, "SELECT name, community_code FROM grid WHERE generation_id = :g "
                        "AND code = :c", g=gid, c=code)[0]  # fmt: skip
        community = _rows(s, "SELECT code, name, short_name FROM admin_area WHERE code = :c",
                          c=grid["community_code"])[0]  # fmt: skip
        people = _rows(s, "SELECT DISTINCT p.id, p.name FROM person p JOIN roster r ON "
                          "r.person_id = p.id WHERE r.layer_key = 'unified' AND r.grid_code = :c "
                          "AND r.active", c=code)  # fmt: skip
        old = {"gid": gid, "code": code, "grid": grid["name"], "community": dict(community),
               "people": [dict(p) for p in people]}  # fmt: skip
        _execute(s, "UPDATE grid SET name = :n WHERE generation_id = :g AND code = :c",
                 n=hostile("网格名"), g=gid, c=code)  # fmt: skip
        _execute(s, "UPDATE admin_area SET name = :n, short_name = :n WHERE code = :c",
                 n=hostile("社区名"), c=community["code"])  # fmt: skip
        _execute(s, "UPDATE person SET name = :n WHERE id = ANY(:ids)",
                 n=hostile("网格员"), ids=[p["id"] for p in people])  # fmt: skip
    return old


def _restore(old: dict) -> None:
    from geo_grid.db.session import session_scope

    with session_scope() as s:
        _execute(s, "UPDATE grid SET name = :n WHERE generation_id = :g AND code = :c",
                 n=old["grid"], g=old["gid"], c=old["code"])  # fmt: skip
        c = old["community"]
        _execute(s, "UPDATE admin_area SET name = :n, short_name = :s WHERE code = :c",
                 n=c["name"], s=c["short_name"], c=c["code"])  # fmt: skip
        for p in old["people"]:
            _execute(s, "UPDATE person SET name = :n WHERE id = :i", n=p["name"], i=p["id"])


@pytest.fixture(scope="module")
def store(demo_db, demo):
    """Hostile text in every stored text the pages show; everything put back afterwards."""
    from scratch_layers import make_scratch_layer, retire_scratch_layers

    from geo_grid.db.session import session_scope
    from geo_grid.services import cases, index, plans

    grid = demo.grids["unified"].iloc[57]
    code = grid["code"]
    made: list[str] = []
    with contextlib.ExitStack() as undo:  # every step undone (last first), even if one fails
        # retired last: the published generations then change back, after the names did, so no
        # page cached with a hostile name can be served again
        undo.callback(retire_scratch_layers, made)  # also forgets the locate index
        undo.callback(_plain_layer_names, made)
        old = _rename(demo, code)
        undo.callback(_restore, old)
        point = grid.geometry.representative_point()
        placed = cases.intake(
            {"category_code": "E0502", "channel": "hotline", "lon": point.x, "lat": point.y,
             "crs": "cgcs2000", "address_text": hostile("案件地址"),
             "description": hostile("案件描述")},
            actor="test",
        )  # fmt: skip
        assert placed["grid_code"] == code, placed
        queued = cases.intake(
            {"category_code": "E0502", "channel": "hotline", "address_text": hostile("待派遣地址"),
             "description": hostile("案件描述")},
            actor="test", district="320113",  # the queue of the demo district's dispatchers
        )  # fmt: skip
        assert queued["status"] == "manual", queued
        undo.callback(_reject, queued)  # out of the dispatch queue again
        # a scratch layer of the grid's community, named hostile, its grids too (published last:
        # the new published generation is what tells the page cache to rebuild every page)
        community = old["community"]["code"]
        key, gid = make_scratch_layer(f"community_code = '{community}'", hostile("图层名"))
        made.append(key)
        with session_scope() as s:
            _execute(s, "UPDATE grid SET name = :n WHERE generation_id = :g",
                     n=hostile("图层网格名"), g=gid)  # fmt: skip
        plan = plans.create_plan(key, district="320113", note=hostile("方案说明"), author="test")
        index.invalidate()
        yield {"code": code, "layer": key, "plan": plan["id"], "placed": placed, "queued": queued}


def _reject(case: dict) -> None:
    from geo_grid.access import Principal
    from geo_grid.services import cases

    centre = Principal("test", "dispatcher", "district", "320113")
    cases.transition(case["id"], "reject", version=case["version"], by=centre,
                     note="测试结束", data={"reason": "out_of_scope"})  # fmt: skip


def _plain_layer_names(keys: list[str]) -> None:
    """The scratch layers' rows stay (plans hold them): plain names again."""
    from geo_grid.db.session import session_scope

    with session_scope() as s:
        _execute(s, "UPDATE layer SET name_zh = '测试规划' WHERE key = ANY(:k)", k=keys)


@pytest.fixture(scope="module")
def cookies(server, accounts):
    return session_cookies(server, accounts["admin"])


# ------------------------------------------------------------------------------------ browser
#: What a person sees without hovering: the layer control, the legend, info boxes, the dispatch
#: panel, the title; then, every layer switched on, every tooltip and popup holding the text,
#: inserted into the page as Leaflet inserts string content (``innerHTML``), read back as text.
SHOWN = """async (needle) => {
  const map = Object.values(window).find(v => v instanceof L.Map);
  const texts = {title: document.title};
  for (const [name, sel] of [["control", ".leaflet-control-layers"], ["legend", ".gg-legend"],
                             ["info", ".gg-info"], ["panel", ".gg-panel"]]) {
    texts[name] = [...document.querySelectorAll(sel)].map(e => e.textContent).join("\\n");
  }
  // layers left off at opening (department toggles) are shown, as a person would
  document.querySelectorAll(".leaflet-control-layers-overlays input:not(:checked)")
    .forEach(box => box.click());
  const bound = [];
  const visit = layer => {
    if (layer.getLayers) layer.getLayers().forEach(visit);
    for (const kind of ["getTooltip", "getPopup"]) {
      const b = layer[kind] && layer[kind]();
      if (!b) continue;
      let content = b.getContent();
      if (typeof content === "function") content = content(layer);
      if (typeof content === "string" && content.includes(needle)) bound.push(content);
    }
  };
  map.eachLayer(visit);
  texts.features = bound.map(html => {
    const box = document.createElement("div");
    box.className = "leaflet-tooltip";
    box.innerHTML = html;
    document.body.appendChild(box);
    return box.textContent;
  }).join("\\n");
  await new Promise(r => setTimeout(r, 300));  // an injected <img onerror> would fire by now
  return texts;
}"""


def _pages(store) -> dict[str, tuple[str, dict[str, list[str]]]]:
    """Page → (path, where → the labelled texts that must show there verbatim)."""
    return {
        "coverage": ("/map", {"control": ["图层名"], "legend": ["图层名"],
                              "features": ["网格名", "网格员", "图层网格名"]}),
        "checks": (f"/map/checks/{store['layer']}", {"title": ["图层名"], "legend": ["图层名"],
                                                     "control": ["图层名"],
                                                     "features": ["图层网格名"]}),
        "cases": ("/map/cases", {"features": ["案件地址", "网格名"]}),
        "indicators": ("/map/indicators", {"features": ["网格名"]}),
        "services": ("/map/services", {"features": ["社区名"]}),
        "dispatch": ("/map/dispatch", {"panel": ["待派遣地址"], "control": ["图层名"]}),
        "grid": (f"/map/grid/{store['code']}", {"title": ["网格名"], "legend": ["网格名"],
                                                "features": ["网格名"]}),
        "plan": (f"/map/plan/{store['plan']}", {"info": ["方案说明"], "features": ["图层网格名"]}),
    }  # fmt: skip


@pytest.mark.parametrize(
    "name", ["coverage", "checks", "cases", "indicators", "services", "dispatch", "grid", "plan"]
)
def test_page_renders_and_shows_hostile_text_verbatim(server, cookies, store, name):
    path, expected = _pages(store)[name]
    with offline_page(cookies=cookies) as (page, log):
        response = page.goto(server + path, wait_until="load", timeout=60_000)
        assert response.status == 200, (name, response.status)
        page.wait_for_selector(".leaflet-container", timeout=30_000)
        if name == "dispatch":  # the queue comes from the API after the page loads
            page.wait_for_selector(".gg-panel li[data-id]", timeout=20_000)
        page.wait_for_timeout(600)
        ink = page.evaluate(CANVAS_INK)
        shown = page.evaluate(SHOWN, "alert(1)")
    assert log.dialogs == [], (name, log.dialogs)
    assert log.console_errors == [] and log.external_requests == [], (name, log.console_errors)
    assert ink > 0.02, (name, ink)  # the layers drew
    for where, labels in expected.items():
        for label in labels:
            assert hostile(label) in shown[where], (name, where, label, shown[where][:300])


def test_login_page_keeps_hostile_next_and_username_as_text(server):
    from urllib.parse import quote

    target = "/map?q=" + HOSTILE
    with offline_page() as (page, log):
        page.goto(f"{server}/login?next={quote(target, safe='')}")
        assert page.input_value("input[name=next]") == target
        page.fill("#u", HOSTILE[:64])
        page.fill("#p", "wrong password")
        page.click("button[type=submit]")
        page.wait_for_selector("[role=alert]")
        assert page.input_value("input[name=next]") == target
        assert page.query_selector("img") is None and page.query_selector("script") is None
    assert log.dialogs == [] and log.external_requests == []


# ------------------------------------------------------------------------------------ case pages
def _case_pages(store) -> dict[str, tuple[str, list[str]]]:
    """Case page → (path, the labelled texts its ``main`` must show verbatim)."""
    return {
        "case": (f"/cases/{store['placed']['id']}",
                 ["案件地址", "案件描述", "网格名", "社区名", "网格员"]),
        "queued": (f"/cases/{store['queued']['id']}", ["待派遣地址", "案件描述"]),
        "inbox": ("/cases?box=all", ["案件地址", "待派遣地址"]),
    }  # fmt: skip


TEXT_OF = "(sel) => document.querySelector(sel).textContent"


@pytest.mark.parametrize("name", ["case", "queued", "inbox"])
def test_case_page_shows_hostile_text_verbatim(server, cookies, store, name):
    path, expected = _case_pages(store)[name]
    with offline_page(cookies=cookies) as (page, log):
        response = page.goto(server + path, wait_until="load", timeout=60_000)
        assert response.status == 200, (name, response.status)
        page.wait_for_timeout(400)  # an injected <img onerror> would fire by now
        shown = page.evaluate(TEXT_OF, "main")
        title = page.title()
    assert log.dialogs == [], (name, log.dialogs)
    assert log.console_errors == [] and log.external_requests == [], (name, log.console_errors)
    for label in expected:
        assert hostile(label) in shown, (name, label)
    if name == "case":
        assert hostile("案件地址") not in title  # the title names the case by its number


def test_intake_preview_shows_hostile_grid_and_roster_names_as_text(server, cookies, store):
    """What the address preview draws from the API (grid, community, people on duty) is put in
    the page as text by its script, never as markup."""
    from geo_grid.db.session import session_scope

    with session_scope() as s:
        typed = _rows(
            s, "SELECT a.local_text FROM address a JOIN grid g ON ST_Contains(g.geom, a.geom) "
               "JOIN generation n ON n.id = g.generation_id AND n.layer_key = 'unified' "
               "AND n.status = 'published' WHERE g.code = :c AND a.road IS NOT NULL "
               "AND a.door_no ~ '^[0-9]+$' AND a.building IS NULL ORDER BY a.id LIMIT 1",
            c=store["code"],
        )[0]["local_text"]  # fmt: skip
    with offline_page(cookies=cookies) as (page, log):
        page.goto(server + "/cases/new")
        page.fill("#address_text", typed)
        page.wait_for_selector("#gg-duty li", timeout=30_000)
        page.wait_for_timeout(400)
        shown = page.evaluate(TEXT_OF, "#gg-preview")
    assert log.dialogs == [] and log.console_errors == [] and log.external_requests == []
    for label in ("网格名", "社区名", "网格员"):
        assert hostile(label) in shown, (label, shown[:300])


def test_plan_pages_and_identify_panel_show_hostile_text_verbatim(server, cookies, store):
    """The plans list (a plan's note), the workspace of a plan of the unified layer (its note, a
    grid's and its community's names in the grid's details, its people in the roster form) and
    the identify panel of a map (the grid, its community, its people)."""
    from geo_grid.services import layers, plans

    code = store["code"]
    point = layers.get_grid(code, layer="unified")["geometry"].representative_point()
    unified = plans.create_plan("unified", district="320113", note=hostile("方案说明"),
                                author="test")  # fmt: skip
    with offline_page(cookies=cookies) as (page, log):
        page.goto(f"{server}/plans?layer={store['layer']}")
        listed = page.inner_text("main")
        page.goto(f"{server}/plans/{unified['id']}")
        page.wait_for_function("() => Number(document.getElementById('gg-plan-map')"
                               ".dataset.loaded) > 0", timeout=60_000)  # fmt: skip
        note = page.inner_text(".gg-plan-note")
        page.evaluate(f"() => window.geoGridWorkspace.focus('{code}')")
        picked = page.inner_text("#gg-picked")
        page.click("#gg-picked button")  # 在岗人员: the roster form
        page.wait_for_selector("#gg-roster select[name=person]")
        form = page.inner_text("#gg-roster")
        page.goto(f"{server}/map")
        page.wait_for_selector(".leaflet-control-layers", timeout=60_000)
        page.wait_for_timeout(300)
        at = page.evaluate(
            """([lat, lon]) => { const m = window[Object.keys(window).find(k =>
              k.startsWith("map_"))]; m.setView([lat, lon], 17, {animate: false});
              const p = m.latLngToContainerPoint([lat, lon]),
                    b = m.getContainer().getBoundingClientRect();
              return [b.left + p.x, b.top + p.y]; }""",
            [point.y, point.x],
        )
        page.mouse.click(*at)
        page.wait_for_selector(".gg-identify:not([hidden]) h3 .gg-code", timeout=30_000)
        panel = page.inner_text(".gg-identify")
        page.wait_for_timeout(300)  # an injected <img onerror> would fire by now
    assert log.dialogs == [], log.dialogs
    assert log.console_errors == [] and log.external_requests == [], log.console_errors
    assert hostile("方案说明") in listed and note == hostile("方案说明")
    assert hostile("网格名") in picked and hostile("社区名") in picked
    assert hostile("网格员") in form  # the grid's people, offered by name
    for label in ("网格名", "社区名", "网格员"):
        assert hostile(label) in panel, (label, panel[:300])
