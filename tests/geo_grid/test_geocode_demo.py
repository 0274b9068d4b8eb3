"""The geocoder and the locate index on the DEMO district (~100k addresses, five layers).

Accuracy floors are asserted on a fixed seed (the report by noise type is ``bench/noisy_queries.py``);
the in-memory locate index must agree with PostGIS ``ST_Covers`` (smallest code on shared edges),
the source of truth, on random points for every layer.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import text

from geo_grid.address import Geocoder
from geo_grid.locate import LocateIndex

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "noisy_queries.py"


@pytest.fixture(scope="module")
def noisy():
    spec = importlib.util.spec_from_file_location("noisy_queries", _BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def world(demo):
    locator = LocateIndex(demo.grids, demo.communities, demo.streets, demo.roster)
    geocoder = Geocoder(
        demo.addresses,
        demo.streets,
        demo.communities,
        locate=locator,
        district=demo.district_names,
    )
    return locator, geocoder


def test_noisy_queries_meet_the_floors(demo, world, noisy):
    locator, geocoder = world
    queries = noisy.make_queries(demo.addresses, demo.streets, demo.communities, n=3000, seed=2026)
    evaluated = noisy.evaluate(geocoder, locator, queries)
    assert set(evaluated["kind"]) == set(noisy.KINDS)
    assert evaluated["grid_correct"].mean() >= 0.98
    assert evaluated["wrong_confident"].mean() < 0.005
    by_kind = evaluated.groupby("kind")["grid_correct"].mean()
    assert by_kind["clean"] == 1.0 and by_kind["gcj02"] == 1.0 and by_kind["bd09"] == 1.0
    assert by_kind.min() >= 0.9


def test_a_dropped_character_is_never_answered_wrong_with_confidence(demo, world, noisy):
    """乐城路 → 乐路, 华水名苑 → 华水苑: an answer with confidence 0.9 or more must be right; where a
    shorter name is itself real (燕平街 beside 燕平大街) the answer is ambiguous, with both."""
    _, geocoder = world
    queries = noisy.make_drop_queries(demo.addresses, demo.streets, demo.communities, 2000, 9)
    evaluated = noisy.evaluate(geocoder, None, queries)
    assert evaluated["wrong_confident"].sum() == 0
    assert (evaluated["status"] == "matched").mean() >= 0.85
    ambiguous = [
        geocoder.geocode(q) for q in evaluated.loc[evaluated["status"] == "ambiguous", "query"]
    ]
    assert ambiguous and all(len(r.alternatives) >= 2 for r in ambiguous)


def test_every_library_address_geocodes_to_itself(demo, world):
    _, geocoder = world
    sample = demo.addresses.sample(2000, random_state=5)
    results = geocoder.geocode_many(sample["full_text"].tolist())
    # 上坝村 exists in two streets: its local text alone is ambiguous, the full text is not
    assert [r.address_id for r in results] == sample["address_id"].astype(int).tolist()
    assert all(r.confidence >= 0.9 for r in results)


def test_library_texts_are_answered_from_the_verbatim_index_as_the_cascade_answers(demo, world):
    """Every library text, as stored, is answered without normalizing it (the index built with
    the geocoder) exactly as the full cascade answers it: a geocoder without that index. The
    texts whose name has a one-character-longer twin (燕平街 beside 燕平大街) are answered from
    a second index where the cascade, which lets the twin compete, answered them so at build;
    the others stay with the cascade. The geocoder without both indexes answers the same."""
    _, geocoder = world
    cascade = copy.copy(geocoder)
    cascade._verbatim, cascade._twins = {}, {}
    texts = demo.addresses["full_text"].tolist()
    assert len(geocoder._verbatim) >= 0.98 * len(set(texts))
    assert len(geocoder._verbatim) + len(geocoder._twins) >= 0.999 * len(set(texts))
    assert geocoder.geocode_many(texts) == cascade.geocode_many(texts)


def test_a_village_name_shared_by_two_streets_is_ambiguous_without_the_street(demo, world):
    _, geocoder = world
    a = demo.addresses
    shared = a[a["village"] == "上坝村"]
    both = shared.groupby("local_text")["street_code"].nunique()
    local = both[both > 1].index[0]
    r = geocoder.geocode(local)
    assert r.status == "ambiguous" and r.grid_code is None and len(r.alternatives) >= 2
    street = demo.streets.set_index("code")["name"]
    row = shared[shared["local_text"] == local].iloc[0]
    r = geocoder.geocode(street[row["street_code"]] + local)
    assert r.status == "matched" and r.address_id == int(row["address_id"])


def test_locate_index_agrees_with_postgis_st_covers(demo_db, demo):
    from geo_grid.db.session import session_scope
    from geo_grid.services import index

    index.invalidate()
    locator = index.get_locator()
    minx, miny, maxx, maxy = demo.district.total_bounds
    rng = np.random.default_rng(42)
    n = 3000
    xs, ys = rng.uniform(minx, maxx, n), rng.uniform(miny, maxy, n)
    # a few points exactly on shared vertices, where the smallest code must win in both
    vertices = np.unique(
        np.concatenate(
            [g.exterior.coords for p in demo.grids["unified"].geometry[:40] for g in p.geoms]
        ),
        axis=0,
    )[:100]
    xs, ys = np.concatenate([xs, vertices[:, 0]]), np.concatenate([ys, vertices[:, 1]])
    ours = locator.locate_many(xs, ys, "cgcs2000")
    sql = text(
        """SELECT p.i, g.layer_key, min(g.code)
           FROM unnest(CAST(:xs AS float8[]), CAST(:ys AS float8[])) WITH ORDINALITY AS p(x, y, i)
           JOIN grid g ON ST_Covers(g.geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4490))
           JOIN generation n ON n.id = g.generation_id AND n.status = 'published'
           GROUP BY p.i, g.layer_key"""
    )
    with session_scope() as session:
        rows = session.execute(sql, {"xs": xs.tolist(), "ys": ys.tolist()}).all()
    truth = {(int(i) - 1, layer): code for i, layer, code in rows}
    layers = sorted(locator.layers)
    assert layers == sorted(demo.grids)
    for layer in layers:
        expected = [truth.get((i, layer)) for i in range(len(xs))]
        got = ours[layer].tolist()
        mismatches = [
            (i, e, g) for i, (e, g) in enumerate(zip(expected, got, strict=True)) if e != g
        ]
        assert not mismatches, f"{layer}: {len(mismatches)} disagreements, e.g. {mismatches[:3]}"
        assert (
            sum(e is not None for e in expected) > 0.3 * n
        )  # the district fills ~40 % of its bbox
