"""GeoDataFrame → GeoJSON for responses, rounded to 7 decimals (~1 cm): one place, one way."""

from __future__ import annotations

import json
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from fastapi.responses import JSONResponse


class GeoJSONResponse(JSONResponse):
    """A GeoJSON answer, sent and declared as ``application/geo+json`` (RFC 7946 §12).

    Routes name it as their ``response_class`` so the OpenAPI document declares the media type
    they send; a route that writes its GeoJSON elsewhere (in a worker process) answers
    ``Response(body, media_type=GeoJSONResponse.media_type)``.
    """

    media_type = "application/geo+json"


def _rounded(geoms: np.ndarray, precision: int) -> np.ndarray:
    return shapely.transform(geoms, lambda c: np.round(c, precision))


def feature_collection(
    frame: gpd.GeoDataFrame, *, precision: int = 7, **members: Any
) -> dict[str, Any]:
    """A FeatureCollection dict (RFC 7946 lon/lat) with extra top-level ``members``."""
    props = frame.drop(columns=frame.geometry.name)
    records = json.loads(props.to_json(orient="records", force_ascii=False, date_format="iso"))
    geoms = shapely.to_geojson(_rounded(frame.geometry.to_numpy(), precision))
    features = [
        {
            "type": "Feature",
            "id": rec.get("code"),
            "properties": rec,
            "geometry": json.loads(g) if g is not None else None,
        }
        for rec, g in zip(records, geoms, strict=True)
    ]
    return {"type": "FeatureCollection", **members, "features": features}


def geometry(geom, precision: int = 7) -> dict[str, Any] | None:
    """One geometry as a GeoJSON dict."""
    if geom is None:
        return None
    return json.loads(shapely.to_geojson(_rounded(np.asarray([geom]), precision)[0]))
