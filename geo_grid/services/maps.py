"""Map pages built from the store, cached by what they show.

Each page is ``build(kind, ...)`` (a :class:`folium.Map`, what the CLI writes with
:func:`geo_grid.maps.write_map`) and ``page(kind, ...)`` (its HTML, what the API serves). Pages are
cached by a *data key*: the published generation of every layer, plus the case fingerprint (count,
last update) for pages that show cases and the roster's for the coverage map (its grids name
their people). A publish or a new case changes the key, so a stale page is
never served; the cache keeps the last :data:`CACHE_SIZE` pages.

The checks page draws the layer's stored coverage check (:func:`geo_grid.services.checks.check_layer`
computes it once per generation and keeps it in the store), so it survives restarts.

Vector tiles (:func:`tile`) are cached by (layer, generation, z, x, y): a published generation never
changes, so its tiles never go stale either.

Pages that call the API (the coverage search box, vector tiles, dispatch, plan) use URLs relative to
the server by default; ``api_base="http://host:8000"`` makes a page written to a file call a server,
and ``api_base=None`` (a file with no server) leaves the search box and vector tiles out.

Every page shows one district (``district``: its code) and opens on its bounds (its outline's,
from the district's profile); a store serving several districts has a page of each.

Kinds: ``coverage``, ``checks`` (``layer``), ``cases`` (``start``, ``end``, ``category``),
``indicators`` (``start``, ``end``), ``services``, ``dispatch``, ``grid`` (``code``), ``plan``
(``plan_id``).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import geopandas as gpd
import pandas as pd

from geo_grid.access import Principal, scope_filter
from geo_grid.address.places import area_name
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.districts import DistrictProfile
from geo_grid.errors import BadInput, NotFound
from geo_grid.labels import PLAN_CHANGE, PLAN_STATE, label
from geo_grid.layers import UNIFIED
from geo_grid.periods import check_period, days_before
from geo_grid.services import districts
from geo_grid.settings import get_settings
from geo_grid.timefmt import format_period

__all__ = [
    "CACHE_SIZE",
    "KINDS",
    "build",
    "coverage_page",
    "default_period",
    "forget_pages",
    "page",
    "published_key",
    "render",
    "tile",
    "viewer_focus",
    "viewer_area",
]

KINDS = ("coverage", "checks", "cases", "indicators", "services", "dispatch", "grid", "plan")
#: Pages kept (0.3-1.2 MB each on a district of the city): the warm-up alone builds two per
#: district (coverage, services), 22 for Nanjing's eleven, and must leave room for the rest.
CACHE_SIZE = 64
#: Where the 红绿指标 page's spreadsheet is asked for: a job (``POST``, ``api/routers/exports.py``)
#: whose file the page then downloads.
INDICATORS_SHEET = "/api/v1/exports/indicators.xlsx"
_TILE_CACHE_SIZE = 4096
#: Days shown by the case pages when no period is given (ending at the latest case).
DEFAULT_DAYS = 30

_pages: OrderedDict[tuple, str] = OrderedDict()
_tiles: OrderedDict[tuple, bytes] = OrderedDict()
_lock = threading.Lock()


def published_key(session, district: str | None = None) -> tuple:
    """Identity of what the maps show: the published generation of every layer (of one
    district)."""
    chosen = None if district is None else [district]
    return tuple(sorted(repos.grids.published_generations(session, chosen).items()))


def _remember(cache: OrderedDict, key: tuple, value: Any, size: int) -> Any:
    """Keep ``value`` under ``key`` unless a build that raced this one kept its own first; the
    value kept. Two builds of one page (the warm-up's and a request's) differ in Folium's ids,
    and the last one stored replaced the one already served: the next request got another page
    (test_every_page_is_html_offline_and_cached, 7 December)."""
    with _lock:
        kept = cache.setdefault(key, value)
        cache.move_to_end(key)
        while len(cache) > size:
            cache.popitem(last=False)
    return kept


def forget_pages() -> None:
    """Drop every cached page and tile: their keys are one store's generation ids, which another
    store (a process switched to another database) may give to other generations."""
    with _lock:
        _pages.clear()
        _tiles.clear()


def _recall(cache: OrderedDict, key: tuple) -> Any:
    with _lock:
        if key in cache:
            cache.move_to_end(key)
            return cache[key]
    return None


def _map_options(
    asset_base: str,
    district: DistrictProfile,
    *,
    whole: bool = True,
    bounds: tuple[float, float, float, float] | None = None,
    place: str | None = None,
) -> dict[str, Any]:
    """Base map (:func:`geo_grid.services.places.base_map`: the configured tiles, or the
    district's own roads and names), assets and the district a page draws: its metric CRS and,
    for a district-wide page (``whole``), its bounds to open on (a page of one grid or plan opens
    on what it draws; a page of a viewer's area on ``bounds``, the area's, named ``place``)."""
    from geo_grid.maps import MapDistrict
    from geo_grid.services.places import base_map

    if bounds is not None:
        shown = MapDistrict.of_bounds(district.local_crs, bounds, place or district.name)
    elif whole:
        shown = MapDistrict.of_bounds(district.local_crs, district.bounds, district.name)
    else:
        minx, miny, maxx, maxy = district.bounds
        centre = ((minx + maxx) / 2, (miny + maxy) / 2)
        shown = MapDistrict(district.local_crs, centre, name=district.name)
    return {"asset_base": asset_base, "base": base_map(district.code), "district": shown}


def _layer_names(session) -> dict[str, str]:
    """Each layer's Chinese name as stored (a layer added as a row brings its own)."""
    return {row["key"]: row["name_zh"] for row in repos.grids.list_layers(session)}


def _generation(session, layer: str, district: str) -> int:
    gen = repos.grids.published_generations(session, [district]).get((district, layer))
    if gen is None:
        raise NotFound(f"layer {layer!r} has no published generation in district {district}")
    return gen


def default_period(
    session, start: datetime | None, end: datetime | None, districts: list[str] | None = None
) -> tuple[datetime, datetime]:
    """The period a case page shows: the given bounds, else the 30 days up to the latest case.

    The period is checked once its ends are known (:func:`geo_grid.periods.check_period`): a
    ``from`` alone reaching back to 1970 is refused here, not drawn.
    """
    if end is None:
        latest = repos.tiles.latest_case_time(session, districts)
        end = (latest + timedelta(seconds=1)) if latest else datetime.now(UTC)
    if start is None:
        start = days_before(end, DEFAULT_DAYS, "to")
    check_period(start, end, max_days=get_settings().max_period_days)
    return start, end


# ------------------------------------------------------------------------------ builders
def _coverage(session, asset_base: str, district: str, api_base: str | None = "", **_: Any):
    from geo_grid.maps import coverage_map

    here = [district]
    grids_by_layer, names = {}, {}
    for row in repos.grids.list_layers(session, here):
        names[row["key"]] = row["name_zh"]
        if row["generation_id"] is not None:
            grids_by_layer[row["key"]] = repos.grids.read_grids(
                session, generation_id=row["generation_id"]
            )
    if UNIFIED not in grids_by_layer:
        raise NotFound("the unified layer has no published generation: load or publish one")
    query = f"?district={district}"
    return coverage_map(
        repos.district.read_admin_areas(session, level="street", districts=here),
        repos.district.read_admin_areas(session, level="community", districts=here),
        grids_by_layer,
        roster=repos.district.read_roster(session, districts=here),  # every layer's people
        open_cases=repos.tiles.open_case_counts(session, here),
        search_url=None if api_base is None else f"{api_base}/api/v1/search",
        tiles_base=None if api_base is None else f"{api_base}/tiles",
        tiles_query=query,
        building_tiles=True,
        layer_names=names,
        **_map_options(asset_base, districts.get(district)),
    )


def _defect_frame(defects: list[dict[str, Any]]) -> gpd.GeoDataFrame:
    """The defects of a check answer (GeoJSON geometries) as a GeoDataFrame in EPSG:4490."""
    from shapely.geometry import shape

    rows = [{k: d.get(k) for k in ("kind", "ids", "area_m2", "width_m", "parent")} for d in defects]
    geoms = [shape(d["geometry"]) if d.get("geometry") else None for d in defects]
    columns = ["kind", "ids", "area_m2", "width_m", "parent"]
    return gpd.GeoDataFrame(pd.DataFrame(rows, columns=columns), geometry=geoms, crs=4490)


def _checks_page(session, asset_base: str, district: str, layer: str, **_: Any):
    """Defects of the published generation: the stored check (computed once per generation)."""
    from geo_grid.maps import checks_map
    from geo_grid.services.checks import check_layer

    gid = _generation(session, layer, district)
    grids = repos.grids.read_grids(session, generation_id=gid)
    result = check_layer(layer, district=district)
    recheck = {"url": f"/api/v1/checks?district={district}",
               "body": {"layer": layer, "refresh": True}}  # fmt: skip
    return checks_map(
        grids, _defect_frame(result["defects"]), layer=layer, layer_names=_layer_names(session),
        recheck=recheck, **_map_options(asset_base, districts.get(district)),
    )  # fmt: skip


def _unified(session, district: str) -> gpd.GeoDataFrame:
    return repos.grids.read_grids(session, generation_id=_generation(session, UNIFIED, district))


def _cases(
    session, asset_base: str, district: str, start=None, end=None, category=None, area=(),
    **_: Any,
):  # fmt: skip
    """``area``: the viewer's scope as sorted (key, value) pairs (hashable: part of the cache key)."""
    from geo_grid.maps import cases_map

    start, end = default_period(session, start, end, [district])
    area = dict(area)
    points = repos.tiles.case_points(
        session, start=start, end=end, category=category, area=area, districts=[district]
    )
    # the viewer's own grids only: the map opens on their street, community or grids
    grids = _in_area(_unified(session, district), area)
    name = _area_name(session, grids, area)
    title = "案件分布" + (f"：{name}" if name else "") + (f"（{category}）" if category else "")
    return cases_map(
        points,
        grids,
        title=title,
        period=format_period(start, end),
        **_map_options(asset_base, districts.get(district), bounds=_area_bounds(grids, area),
                       place=name),
    )  # fmt: skip


def _in_area(grids: gpd.GeoDataFrame, area: dict[str, Any]) -> gpd.GeoDataFrame:
    """The unified grids of a viewer's area (:func:`geo_grid.access.scope_filter`'s keys):
    their street, community or own grids; all for a district-wide viewer."""
    for key, column in (("scope_street_code", "street_code"),
                        ("scope_community_code", "community_code")):  # fmt: skip
        if key in area:
            grids = grids.loc[grids[column] == area[key]]
    if "scope_grid_codes" in area:
        grids = grids.loc[grids["code"].isin(area["scope_grid_codes"])]
    return grids


def _area_bounds(grids: gpd.GeoDataFrame, area: dict[str, Any]) -> tuple[float, ...] | None:
    """Where a page of a viewer's area opens: its grids' extent (None: the district's)."""
    if not area.keys() - {"scope_district_prefix"} or grids.empty:
        return None
    return tuple(float(v) for v in grids.total_bounds)


def _area_name(session, grids: gpd.GeoDataFrame, area: dict[str, Any]) -> str | None:
    """How a page names a viewer's area: their street or community, or their grids."""
    for key in ("scope_street_code", "scope_community_code"):
        if key in area:
            name = repos.district.admin_names(session, [area[key]]).get(area[key])
            return area_name(name or area[key])
    if "scope_grid_codes" in area:
        names = [str(n) for n in grids.get("name", grids["code"]).tolist()]
        return "、".join(names[:3]) + (f" 等 {len(names)} 个网格" if len(names) > 3 else "")
    return None


def viewer_focus(district: str, area: tuple) -> dict[str, Any] | None:
    """Where a viewer's district-wide page (coverage, services) opens, and what it names: their
    street, community or grids (``area`` as :func:`geo_grid.access.scope_filter` gives it, in
    sorted pairs); None for a district-wide viewer. The page itself stays the district's (one
    cached page serves every grid worker); the focus is added when it is served."""
    area = dict(area)
    if not area.keys() - {"scope_district_prefix"}:
        return None
    with session_scope() as session:
        grids = _in_area(_unified(session, district), area)
        if grids.empty:
            return None
        name = _area_name(session, grids, area)
    mine = "scope_grid_codes" in area
    return {
        "bounds": [float(v) for v in grids.total_bounds],
        "name": ("我的网格：" if mine else "所辖范围：") + (name or ""),
        "codes": [str(c) for c in grids["code"]] if mine else [],
        "place": name,
    }


def _indicators(
    session, asset_base: str, district: str, start=None, end=None, area=(),
    api_base: str | None = "", **_: Any,
):  # fmt: skip
    """红绿指标 as the cases service computes them (the district's thresholds); every grid
    coloured, a grid with too few cases by its community. A street or community leader's page
    shows and names their area (``area``, as :func:`_cases` takes it); a page with a server
    links the same indicators as a spreadsheet."""
    from geo_grid.maps import indicators_map
    from geo_grid.services import cases

    start, end = default_period(session, start, end, [district])
    area = dict(area)
    grids = _in_area(_unified(session, district), area)
    name = _area_name(session, grids, area)
    every = dict(zip(grids["code"].astype(str), grids["community_code"], strict=True))
    rows = pd.DataFrame(cases.indicators("grid", start, end, districts=[district], grids=every))
    if rows.empty:
        rows = pd.DataFrame({"code": [], "colour": []})
    return indicators_map(
        grids, rows, period=format_period(start, end), thresholds=cases.thresholds(district),
        area=name,
        sheet=None if api_base is None else api_base + _indicators_sheet(district, start, end),
        **_map_options(asset_base, districts.get(district),
                                  bounds=_area_bounds(grids, area), place=name),
    )  # fmt: skip


def _indicators_sheet(district: str, start: datetime, end: datetime) -> str:
    """The page's 导出表格 button: where the job making the grids' indicators of the page's
    period and district as a spreadsheet is started (``POST /api/v1/exports/indicators.xlsx``,
    allowed to the page's roles).

    >>> _indicators_sheet("110101", datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
    '/api/v1/exports/indicators.xlsx?level=grid&district=110101&from=2026-06-01T00%3A00%3A00%2B00%3A00&to=2026-07-01T00%3A00%3A00%2B00%3A00'
    """
    query = {"level": "grid", "district": district, "from": start.isoformat(),
             "to": end.isoformat()}  # fmt: skip
    return INDICATORS_SHEET + "?" + urlencode(query)


def _services(session, asset_base: str, district: str, **_: Any):
    from geo_grid.maps import service_coverage, service_stations, services_map

    profile = districts.get(district)
    communities = repos.district.read_admin_areas(session, level="community", districts=[district])
    buildings = repos.tiles.buildings_households(session, [district])
    stations = service_stations(buildings, communities, local_crs=profile.local_crs)
    coverage = service_coverage(stations, buildings, communities, local_crs=profile.local_crs)
    return services_map(stations, coverage, communities, **_map_options(asset_base, profile))


def _dispatch(session, asset_base: str, district: str, api_base: str | None = "", **_: Any):
    api_base = api_base or ""
    from geo_grid.maps import dispatch_map

    gens = repos.grids.published_generations(session, [district])
    departments = {
        key: repos.grids.read_grids(session, generation_id=gid)
        for (_, key), gid in sorted(gens.items())
        if key != UNIFIED
    }
    return dispatch_map(
        _unified(session, district),
        departments,
        queue_url=f"{api_base}/api/v1/cases/manual",
        locate_url=f"{api_base}/api/v1/locate",
        route_url=f"{api_base}/api/v1/cases/{{id}}/route-to-point",
        layer_names=_layer_names(session),
        **_map_options(asset_base, districts.get(district)),
    )


def _grid(session, asset_base: str, district: str, code: str, **_: Any):
    from geo_grid.maps import grid_map

    gid = _generation(session, UNIFIED, district)
    grid = repos.grids.read_grids(session, generation_id=gid, codes=[code])
    if grid.empty:
        raise NotFound(f"grid {code!r} not found in the published unified layer")
    bbox = tuple(float(v) for v in grid.total_bounds)
    around = repos.grids.read_grids(session, generation_id=gid, bbox=bbox)
    neighbours = around[(around["code"] != code) & around.touches(grid.geometry.iloc[0])]
    buildings = repos.tiles.buildings_in(session, generation_id=gid, code=code)
    addresses = repos.tiles.addresses_in(session, generation_id=gid, code=code)
    options = _map_options(asset_base, districts.get(district), whole=False)
    return grid_map(grid, buildings, addresses, neighbours, **options)


def _plan(
    session, asset_base: str, district: str, plan_id: int, api_base: str | None = "", **_: Any
):  # fmt: skip
    from geo_grid.maps import plan_map
    from geo_grid.plans import diff_layers

    api_base = api_base or ""
    plan = repos.plans.get_plan(session, plan_id)
    if plan["district_code"] != district:
        raise NotFound(f"plan {plan_id} does not redraw district {district}")
    draft = repos.grids.read_grids(session, generation_id=plan["generation_id"])
    base_id = plan.get("base_generation_id")
    base = repos.grids.read_grids(session, generation_id=base_id) if base_id else draft.iloc[:0]
    diff = diff_layers(base, draft, local_crs=districts.get(district).local_crs)
    touched = set(diff["code"].astype(str))
    before = base[base["code"].astype(str).isin(touched)]
    after = draft[draft["code"].astype(str).isin(touched)]
    if touched:
        minx, miny, maxx, maxy = (float(v) for v in diff.total_bounds)
        pad = 0.01
        near = draft.cx[minx - pad : maxx + pad, miny - pad : maxy + pad]
        context = near[~near["code"].astype(str).isin(touched)]
    else:
        context = draft
    counts = diff["change"].value_counts()
    changes = "，".join(
        f"{PLAN_CHANGE[key]} {int(counts.get(key, 0))}" for key in ("added", "changed", "removed")
    )
    title = f"调整方案 {plan_id}（{label(PLAN_STATE, plan.get('status'))}）：{changes}"
    return plan_map(
        plan_id,
        before,
        after,
        context,
        title=title,
        note=plan.get("note"),
        api_base=f"{api_base}/api/v1/plans",
        editable=plan.get("status") == "open",
        workspace_url=f"{api_base}/plans/{plan_id}",
        **_map_options(asset_base, districts.get(district), whole=False),
    )


_BUILDERS = {
    "coverage": _coverage,
    "checks": _checks_page,
    "cases": _cases,
    "indicators": _indicators,
    "services": _services,
    "dispatch": _dispatch,
    "grid": _grid,
    "plan": _plan,
}
_CASE_KINDS = {"coverage", "cases", "indicators"}


def _data_key(session, kind: str, params: dict[str, Any]) -> tuple:
    """What a page shows changes with: its district's publishes and profile, cases (case
    pages), the plan's edits (plan)."""
    district = params["district"]
    key = published_key(session, district) + (districts.get(district),)
    if kind in _CASE_KINDS:
        key += (repos.tiles.cases_fingerprint(session, [district]),)
    if kind == "coverage":  # its grids' tooltips name the people on the roster
        key += (repos.district.roster_fingerprint(session, district),)
    if kind == "plan":
        plan = repos.plans.get_plan(session, params["plan_id"])
        key += (plan.get("status"), plan.get("updated_at"), plan.get("edits"))
    return key


def build(kind: str, *, district: str, asset_base: str = "/static", **params: Any):
    """The folium map of page ``kind`` of ``district`` built from the store (no cache).

    Every page that calls a server (``api_base`` not None) gets the identify panel
    (:func:`geo_grid.maps.identify.add_identify`): a click shows the grid there with its links
    (``links``: :data:`~geo_grid.maps.identify.LINKS` with the roles that may open each; the
    dispatcher's map, whose clicks place cases, only borrows the links).
    """
    if kind not in _BUILDERS:
        raise BadInput(f"kind: unknown map {kind!r} (one of {', '.join(KINDS)})", field="kind")
    districts.get(district)
    with session_scope() as session:
        m = _BUILDERS[kind](session, asset_base, district=district, **params)
        api_base = params.get("api_base", "")
        if api_base is not None:
            _identify(session, m, kind, district, asset_base, api_base, params.get("links"))
    return m


def _identify(session, m, kind: str, district: str, asset_base: str, api_base: str, links) -> None:
    """The identify panel of a page (see :func:`build`)."""
    from geo_grid.crs import normalize_crs
    from geo_grid.maps.identify import LINKS, add_identify

    shifted = normalize_crs(get_settings().tiles_crs) not in ("wgs84", "cgcs2000")
    add_identify(
        m, asset_base=asset_base, api_base=api_base, layer_names=_layer_names(session),
        links=LINKS if links is None else links, crs="gcj02" if shifted else None,
        district=district, clicks=kind != "dispatch", page_info=kind != "coverage",
    )  # fmt: skip


def render(kind: str, asset_base: str, params: dict[str, Any]) -> str:
    """The HTML of page ``kind`` built from the store now, uncached (what :func:`page` keeps)."""
    from geo_grid.maps import map_html

    return map_html(build(kind, asset_base=asset_base, **params))


#: Runs ``render(kind, asset_base, params)`` somewhere: the API passes its worker processes.
Runner = Callable[[Callable[..., str], str, str, dict[str, Any]], str]


def page(
    kind: str,
    *,
    district: str,
    asset_base: str = "/static",
    build_in: Runner | None = None,
    viewer: Principal | None = None,
    **params: Any,
) -> str:
    """The HTML of page ``kind`` of ``district``, rebuilt only when what it shows changed.

    ``build_in(render, kind, asset_base, params)`` builds a page missing from the cache
    elsewhere (the API: in a worker process, ``api/workers.py``); by default here. A ``viewer``
    confined to an area (a street, a community, their own grids) sees only that area's cases
    and indicators on those pages (cached per area, named after it), and the district's
    coverage and service pages opened on their area and naming it (:func:`viewer_focus`: one
    cached page serves every viewer).
    """
    if kind not in _BUILDERS:
        raise BadInput(f"kind: unknown map {kind!r} (one of {', '.join(KINDS)})", field="kind")
    districts.get(district)
    params = {**params, "district": district}
    area = viewer_area(viewer) if viewer is not None else ()
    if kind in _AREA_KINDS:
        params["area"] = area
    focus = viewer_focus(district, area) if kind in _FOCUS_KINDS and area else None
    with session_scope() as session:
        key = (kind, asset_base, tuple(sorted(params.items())), _data_key(session, kind, params))
    html = _recall(_pages, key)
    if html is None:
        # built after the key was read: at worst newer than its key, and rebuilt once more
        html = (build_in or _here)(render, kind, asset_base, params)
        html = _remember(_pages, key, html, CACHE_SIZE)
    if focus is not None:
        from geo_grid.maps import focus_html

        html = focus_html(html, **focus)
    return html


#: Pages drawn of the viewer's area only, and pages of the district opened on it.
_AREA_KINDS = ("cases", "indicators")
_FOCUS_KINDS = ("coverage", "services")


def viewer_area(viewer: Principal) -> tuple[tuple[str, Any], ...]:
    """The viewer's area as the cases page filters by it: (key, value) pairs of
    :func:`geo_grid.access.scope_filter`, hashable (part of the page's cache key).

    >>> viewer_area(Principal("w", "grid_worker", "community", "123456001001", ("g1", "g2")))
    (('scope_grid_codes', ('g1', 'g2')),)
    >>> viewer_area(Principal("a", "admin"))
    ()
    """
    return tuple(
        (k, tuple(v) if isinstance(v, list) else v) for k, v in scope_filter(viewer).items()
    )


def _here(fn: Callable[..., str], *args: Any) -> str:
    return fn(*args)


def coverage_page(
    district: str, asset_base: str = "/static", build_in: Runner | None = None, **params: Any
) -> str:
    """The coverage map's HTML of ``district`` (cached; see :func:`page`: the server warms the
    page it serves by passing the same ``params``)."""
    return page("coverage", district=district, asset_base=asset_base, build_in=build_in, **params)


def tile(layer: str, z: int, x: int, y: int, *, districts: list[str] | None = None) -> bytes:
    """A vector tile of a layer's published generations in ``districts`` (None: all), or of
    their buildings (``buildings``)."""
    chosen = None if districts is None else sorted(districts)
    with session_scope() as session:
        if layer == repos.tiles.BUILDINGS:
            key: tuple = (layer, published_key(session), tuple(chosen or ()), z, x, y)
            cached = _recall(_tiles, key)
            if cached is not None:
                return cached
            data = repos.tiles.building_tile(session, z=z, x=x, y=y, districts=chosen)
        else:
            published = repos.grids.published_generations(session, chosen)
            gids = sorted(gid for (_, key), gid in published.items() if key == layer)
            if not gids:
                raise NotFound(f"layer {layer!r} has no published generation")
            key = (layer, tuple(gids), z, x, y)
            cached = _recall(_tiles, key)
            if cached is not None:
                return cached
            data = repos.tiles.grid_tile(session, generation_ids=gids, z=z, x=x, y=y)
    _remember(_tiles, key, data, _TILE_CACHE_SIZE)
    return data
