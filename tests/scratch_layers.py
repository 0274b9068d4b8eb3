"""Scratch grid layers for tests: private published copies of some unified grids, retired after.

A helper module, not a fixture: ``tests/conftest.py`` wraps it as the ``scratch_layer`` fixture,
and a module-scoped fixture (``tests/api/test_hostile_pages.py``) calls it directly. It is not
imported from ``conftest`` because every ``conftest.py`` is imported under that one name.
"""

from __future__ import annotations

__all__ = ["make_scratch_layer", "retire_scratch_layers"]

#: The demo district the copies are made in (``demo_db``'s, Qixia).
DISTRICT = "320113"


def make_scratch_layer(condition: str, name_zh: str = "测试规划") -> tuple[str, int]:
    """A private copy of some unified grids of :data:`DISTRICT` as a published layer ``t_plan_<hex>`` named
    ``name_zh``; ``condition`` is a fixed SQL condition on the ``grid`` table written by a test."""
    import uuid

    from sqlalchemy import text

    from geo_grid.db import repos
    from geo_grid.db.session import session_scope

    key = f"t_plan_{uuid.uuid4().hex[:10]}"
    with session_scope() as s:
        repos.grids.ensure_layer(s, key, name_zh)
        gid = repos.grids.create_generation(s, layer=key, district=DISTRICT, author="test")
        src = repos.grids.resolve_generation(s, "unified", district=DISTRICT)["id"]
        s.execute(
            text(
                f"""INSERT INTO grid (generation_id, district_code, layer_key, code, name,
                                     community_code, street_code, households, area_m2,
                                     properties, geom)
                    SELECT :g, district_code, :k, code, name, community_code, street_code,
                           households, area_m2, properties, geom
                    FROM grid WHERE generation_id = :src AND {condition}"""  # noqa: S608
            ),
            {"g": gid, "k": key, "src": src},
        )
        repos.grids.publish_generation(s, gid)
    return key, gid


def retire_scratch_layers(keys: list[str]) -> None:
    """Retire the published generations of ``keys`` (rows stay: plan edit logs are append-only)."""
    from sqlalchemy import text

    from geo_grid.db.session import session_scope
    from geo_grid.services import index

    with session_scope() as s:
        s.execute(
            text(
                "UPDATE generation SET status = 'retired', retired_at = now() "
                "WHERE layer_key = ANY(:k) AND status = 'published'"
            ),
            {"k": keys},
        )
    index.invalidate()
