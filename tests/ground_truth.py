"""The demo's ground truth of injected defects, and the one way tests compare a check against it."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import shapely

ROOT = Path(__file__).resolve().parents[1]
TRUTH = json.loads((ROOT / "data" / "ground_truth" / "qixia_defects.json").read_text("utf-8"))
DEPARTMENTS = ("politics_law", "urban_mgmt", "emergency", "ecology")


def match_truth(layer: str, defects: list[dict]) -> None:
    """Every injected defect of ``layer`` is among ``defects`` (same kind, same ids - our
    crosses_parent names the crossing grid only - within 5 m of the recorded point), and every
    reported defect lies within 5 m of an injected one."""
    truth = [d for d in TRUTH["defects"] if d["layer"] == layer]
    assert truth, layer

    def to_m(geoms):
        return gpd.GeoSeries(geoms, crs=4490).to_crs(TRUTH["metric_crs"]).values

    points = to_m([shapely.Point(d["point"]) for d in truth])
    found = to_m([shapely.geometry.shape(d["geometry"]) for d in defects])
    for d, pt in zip(truth, points, strict=True):
        hits = [
            set(r["ids"])
            for r, g in zip(defects, found, strict=True)
            if r["kind"] == d["kind"] and g.distance(pt) < 5
        ]
        want = set(d["ids"])
        assert any(h == want or (d["kind"] == "crosses_parent" and h < want) for h in hits), (
            layer,
            d,
            hits,
        )
    for r, g in zip(defects, found, strict=True):
        assert min(g.distance(p) for p in points) < 5, (layer, r["kind"], r["ids"])
