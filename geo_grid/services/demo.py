"""Load the seeded Qixia demo district into the store, once (a second call is a no-op)."""

from __future__ import annotations

import time
from typing import Any

import pandas as pd

from geo_grid.db import repos
from geo_grid.db.session import get_engine, session_scope
from geo_grid.layers import BUILTIN_LAYERS
from geo_grid.measure import area_m2
from geo_grid.services import index
from geo_grid.settings import get_settings

__all__ = ["DEMO_ACCOUNTS", "DEMO_META_KEY", "demo_accounts", "demo_loaded", "load_demo"]

DEMO_META_KEY = "demo_seed"
DEMO_CASES_META_KEY = "demo_cases_seed"


def demo_loaded(key: str = DEMO_META_KEY) -> str | None:
    """The seed of the loaded demo district (or, with ``DEMO_CASES_META_KEY``, its cases), or None."""
    with session_scope() as session:
        return repos.store.get_meta(session, key)


def _load_cases(seed: int, demo, say) -> dict[str, Any]:
    """The six months of historical cases, in their own transaction, recorded once done."""
    from geo_grid.services.cases import load_demo_cases

    result = load_demo_cases(seed, demo=demo, progress=say)
    with session_scope() as session:
        repos.store.set_meta(session, DEMO_CASES_META_KEY, str(seed))
    return result


def load_demo(
    seed: int | None = None, *, force: bool = False, progress=None, demo=None
) -> dict[str, Any]:
    """Generate the demo district and store it in ONE transaction; skip if already loaded.

    ``force`` replaces a loaded demo. ``demo`` passes an already generated district (tests reuse one).
    """
    from geo_grid.demo import generate_demo

    settings = get_settings()
    seed = seed if seed is not None else 20261125
    say = progress or (lambda msg: None)
    loaded = demo_loaded()
    if loaded and not force:
        if demo_loaded(DEMO_CASES_META_KEY) is None:  # an earlier run stopped before the cases
            cases = _load_cases(
                int(loaded), demo if demo is not None else generate_demo(seed=int(loaded)), say
            )
            return {
                "loaded": True,
                "seed": int(loaded),
                "cases": cases["cases"],
                "reason": "cases only",
            }
        return {"loaded": False, "seed": int(loaded), "reason": "already loaded"}

    t0 = time.perf_counter()
    demo = demo if demo is not None else generate_demo(seed=seed)
    seed = demo.seed
    t_gen = time.perf_counter() - t0
    say(f"generated the demo district in {t_gen:.1f} s")

    with session_scope(get_engine()) as session:
        if loaded:
            repos.store.clear_district(session)
        for info in BUILTIN_LAYERS:
            repos.grids.ensure_layer(session, info.key, info.name_zh, info.department)
        admin = pd.concat([demo.district, demo.streets, demo.communities], ignore_index=True)
        admin = admin.set_geometry("geometry")
        admin["area_m2"] = area_m2(admin, settings.local_crs)
        repos.district.insert_admin_areas(session, admin)
        say(f"stored {len(admin)} admin areas")
        for layer, grids in demo.grids.items():
            grids = grids.copy()
            grids["area_m2"] = area_m2(grids, settings.local_crs)
            gid = repos.grids.create_generation(
                session,
                layer=layer,
                author="demo",
                note=f"demo seed {seed}",
                source="geo-grid demo",
            )
            repos.grids.insert_grids(session, gid, layer, grids)
            repos.grids.publish_generation(session, gid)
            say(f"stored {len(grids)} grids of {layer}")
        repos.district.insert_buildings(session, demo.buildings)
        repos.district.insert_addresses(session, demo.addresses)
        say(f"stored {len(demo.buildings)} buildings and {len(demo.addresses)} addresses")
        people, roles = repos.district.insert_roster(session, demo.roster)
        repos.store.set_meta(session, DEMO_META_KEY, str(seed))
        say(f"stored {people} people in {roles} roster roles")
    index.invalidate()  # the address library changed under the same published generations
    cases = _load_cases(seed, demo, say)
    return {
        "loaded": True,
        "seed": seed,
        "generate_s": round(t_gen, 1),
        "total_s": round(time.perf_counter() - t0, 1),
        "grids": {k: len(v) for k, v in demo.grids.items()},
        "addresses": len(demo.addresses),
        "buildings": len(demo.buildings),
        "cases": cases["cases"],
    }


#: The demo's accounts: one per role, a grid worker on a real roster person, a leader of 尧化街道.
DEMO_ACCOUNTS: dict[str, dict[str, str]] = {
    "admin": {},
    "planner": {},
    "dispatcher": {},
    "grid_worker": {"person": "roster"},
    "leader": {"scope": "street:320113003"},
    "viewer": {},
}


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
        access.create_user(username, password, role, scope=opts.get("scope"), person_id=person)
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
