"""Load seeded demo districts into the store, each once (a second call is a no-op).

Any district with real data in ``data/`` (:func:`geo_grid.demo.known_districts`: Nanjing's eleven,
Suzhou's Gusu) loads next to what is stored: its profile, admin areas, a generation of every layer,
buildings, addresses and roster in ONE transaction, then its historical cases. ``make demo`` loads
:data:`geo_grid.demo.DEFAULT_DISTRICT`. Each district's seed is kept in ``meta`` as
``demo_seed:<code>``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from geo_grid.db import repos
from geo_grid.db.session import get_engine, session_scope
from geo_grid.layers import BUILTIN_LAYERS
from geo_grid.measure import area_m2
from geo_grid.services import districts, index
from geo_grid.settings import get_settings

__all__ = [
    "DEMO_ACCOUNTS",
    "DEMO_META_KEY",
    "demo_accounts",
    "demo_loaded",
    "load_city",
    "load_demo",
]

DEMO_META_KEY = "demo_seed"
DEMO_CASES_META_KEY = "demo_cases_seed"


def _key(key: str, district: str) -> str:
    return f"{key}:{district}"


def demo_loaded(district: str | None = None, key: str = DEMO_META_KEY) -> str | None:
    """The seed of the demo of ``district`` (default: the demo's default district) loaded here
    (or, with ``DEMO_CASES_META_KEY``, of its cases), or None."""
    from geo_grid.demo import DEFAULT_DISTRICT

    district = district or DEFAULT_DISTRICT
    with session_scope() as session:
        return repos.store.get_meta(session, _key(key, district))


def _load_cases(seed: int, demo, say, n: int) -> dict[str, Any]:
    """The district's six months of historical cases (about ``n``), in their own transaction,
    recorded once done."""
    from geo_grid.services.cases import load_demo_cases

    result = load_demo_cases(seed, demo=demo, progress=say, n=n)
    with session_scope() as session:
        repos.store.set_meta(session, _key(DEMO_CASES_META_KEY, demo.code), str(seed))
    return result


def _store_district(session, demo, say: Callable[[str], None]) -> None:
    """Write one generated district (profile, areas, layers, buildings, addresses, roster)."""
    code = demo.code
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
    repos.district.insert_buildings(session, demo.buildings, district=code)
    repos.district.insert_addresses(session, demo.addresses, district=code)
    say(f"{code}: stored {len(demo.buildings)} buildings and {len(demo.addresses)} addresses")
    people, roles = repos.district.insert_roster(session, demo.roster, district=code)
    repos.store.set_meta(session, _key(DEMO_META_KEY, code), str(demo.seed))
    index.touch(session, code)  # other processes' geocoders: the library changed
    say(f"{code}: stored {people} people in {roles} roster roles")


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
    """Generate the demo of ``district`` (default Qixia) and store it next to the districts
    already stored, in ONE transaction; skip it if it is loaded.

    ``force`` replaces that district's loaded demo (no other district's rows are touched).
    ``demo`` passes an already generated district (tests reuse one); ``n_grids`` asks the
    generator for fewer unified grids (at least one per community), ``n_cases`` for fewer cases.
    """
    from geo_grid.demo import DEFAULT_DISTRICT, DEFAULT_SEED, generate_demo

    code = demo.code if demo is not None else str(district or DEFAULT_DISTRICT)
    seed = seed if seed is not None else DEFAULT_SEED
    say = progress or (lambda msg: None)

    def make(s: int):
        return demo if demo is not None else generate_demo(code, seed=s, n_grids=n_grids)

    loaded = demo_loaded(code)
    if loaded and not force:
        if demo_loaded(code, DEMO_CASES_META_KEY) is None:  # an earlier run stopped before them
            cases = _load_cases(int(loaded), make(int(loaded)), say, n_cases)
            return {"district": code, "loaded": True, "seed": int(loaded),
                    "cases": cases["cases"], "reason": "cases only"}  # fmt: skip
        return {"district": code, "loaded": False, "seed": int(loaded), "reason": "already loaded"}

    t0 = time.perf_counter()
    demo = make(seed)
    t_gen = time.perf_counter() - t0
    say(f"{code}: generated the demo district in {t_gen:.1f} s")
    with session_scope(get_engine()) as session:
        if loaded:
            repos.store.clear_district(session, code)
        _store_district(session, demo, say)
    index.invalidate()  # the address library changed under the same published generations
    t_store = time.perf_counter() - t0 - t_gen
    cases = _load_cases(demo.seed, demo, say, n_cases)
    return {
        "district": code,
        "name": demo.spec.name,
        "loaded": True,
        "seed": demo.seed,
        "generate_s": round(t_gen, 1),
        "store_s": round(t_store, 1),
        "total_s": round(time.perf_counter() - t0, 1),
        "grids": {k: len(v) for k, v in demo.grids.items()},
        "addresses": len(demo.addresses),
        "buildings": len(demo.buildings),
        "cases": cases["cases"],
    }


def load_city(
    city: str,
    seed: int | None = None,
    *,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[dict[str, Any]]:
    """Load the demo of every known district of a city ('3201': Nanjing's eleven), one district
    per transaction, generating the next while one is stored; loaded ones are skipped."""
    from geo_grid.demo import DEFAULT_SEED, city_districts, iter_city

    seed = seed if seed is not None else DEFAULT_SEED
    todo = [c for c in city_districts(city) if force or not demo_loaded(c)]
    done = [load_demo(seed, district=c, progress=progress) for c in city_districts(city)
            if c not in todo]  # fmt: skip
    if todo:
        for code, demo in iter_city(city, seed):
            if code in todo:
                done.append(load_demo(seed, force=force, progress=progress, demo=demo))
    return sorted(done, key=lambda r: r["district"])


#: The demo's accounts: one per role, a grid worker on a real roster person, a leader of 尧化街道.
DEMO_ACCOUNTS: dict[str, dict[str, str]] = {
    "admin": {},
    "planner": {},
    "dispatcher": {},
    "grid_worker": {"person": "roster"},
    "leader": {"scope": "demo street"},
    "viewer": {},
}


def _leader_street() -> str:
    """The demo leader's street: 尧化街道 when the demo's district is loaded, else the first street
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
