"""Several districts' geocoders answering as one (a store serving several districts).

Each district keeps its own :class:`~geo_grid.address.Geocoder` (its address library, streets,
communities and names). An address goes to the districts its admin prefix agrees with (乐清市…,
温州…, 白石街道…: the national gazetteer names them); when several remain (no prefix, or only a
province both share) each of them is asked and the answer that matched wins. Two districts matching
equally well make the answer ``ambiguous`` with both candidates, never a guess.

A point is answered by the district it lies in (``locate``: a function giving the district code
of a point in EPSG:4490). A district's geocoder may be given as a function that builds it: it is
built the first time an address or point of that district is asked for (a caller of one district
never waits for the others' address libraries).

Examples
--------
>>> from geo_grid.testing import made_up_place, sample_library
>>> place = made_up_place()
>>> lib, streets, communities = sample_library(place)
>>> one = Geocoder(lib, streets, communities, district=place.district)
>>> both = GeocoderSet({place.district.code: one})
>>> both.geocode("东湖路12号").grid_code == one.geocode("东湖路12号").grid_code
True
>>> both.geocode("东湖路12号", districts=["990102"]).reason   # a district not served here
'no district of yours serves this address'
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import lru_cache

from geo_grid.address._admin_memo import AdminMemo
from geo_grid.address.gazetteer import AdminMatch, Gazetteer
from geo_grid.address.geocode import Geocoder, GeocodeResult, ReverseResult
from geo_grid.address.normalize import normalize
from geo_grid.errors import BadInput

__all__ = ["GeocoderSet"]

#: Confidence by which one district's match must beat another's to be taken alone.
_MARGIN = 0.05
_RANK = {"matched": 2, "ambiguous": 1, "unmatched": 0}


class GeocoderSet:
    """District code → :class:`Geocoder`, with one :meth:`geocode`, :meth:`geocode_many` and
    :meth:`reverse` over all of them (or over the ``districts`` a caller may read).

    Parameters
    ----------
    geocoders
        One geocoder per district code, or a function building it (called once, when needed).
    gazetteer
        The national gazetteer: an address's admin prefix picks its districts. Without it every
        district is asked.
    locate
        ``(lon, lat) -> district code or None`` in EPSG:4490, for :meth:`reverse`; without it
        every district's nearest address competes.
    """

    def __init__(
        self,
        geocoders: Mapping[str, Geocoder | Callable[[], Geocoder]],
        gazetteer: Gazetteer | None = None,
        locate: Callable[[float, float], str | None] | None = None,
    ) -> None:
        self._given = dict(sorted(geocoders.items()))
        self._built: dict[str, Geocoder] = {}
        self._lock = threading.Lock()
        self.gazetteer = gazetteer
        self._locate = locate
        # a text's admin prefix, kept by text and by the part read (a query's door numbers and
        # misspelled road are past it)
        self._match = AdminMemo(gazetteer) if gazetteer is not None else None

    @property
    def codes(self) -> list[str]:
        """The districts this set answers for, by code."""
        return list(self._given)

    @property
    def built(self) -> bool:
        """Whether every district's geocoder is built (nothing left to wait for)."""
        return len(self._built) == len(self._given)

    def built_geocoder(self, code: str) -> Geocoder | None:
        """The geocoder of district ``code`` if it was built, else None (nothing is built)."""
        return self._built.get(code)

    def geocoder(self, code: str) -> Geocoder:
        """The geocoder of district ``code`` (built now if it was given as a function)."""
        found = self._built.get(code)
        if found is not None:
            return found
        with self._lock:  # one build per district, whoever asks first
            found = self._built.get(code)
            if found is None:
                given = self._given[code]
                found = given if isinstance(given, Geocoder) else given()
                self._built[code] = found
        return found

    def _candidates(self, districts: Iterable[str] | None) -> list[str]:
        if districts is None:
            return list(self._given)
        wanted = set(districts)
        return [c for c in self._given if c in wanted]

    def _agreeing(self, norm: str, candidates: list[str]) -> list[str]:
        """The candidates the address's admin prefix is in line with (all without one)."""
        if len(candidates) < 2 or self._match is None:
            return candidates
        admin: AdminMatch = self._match(norm)
        if not admin.links:
            return candidates
        return self._agree(tuple(link.codes for link in admin.links), tuple(candidates))

    @staticmethod
    @lru_cache(maxsize=65536)
    def _agree(links: tuple[tuple[str, ...], ...], candidates: tuple[str, ...]) -> list[str]:
        """The candidates every admin component (its possible codes) is in line with; kept per
        prefix, which the addresses of one community share."""
        agree = [d for d in candidates if all(_in_line(codes, d) for codes in links)]
        # none agrees: the address names a district not served; the first one says so
        return agree or list(candidates[:1])

    def route(self, text: str, districts: Iterable[str] | None = None) -> list[str]:
        """The districts whose geocoders :meth:`geocode` asks for ``text``."""
        return self._route(text, districts)[0]

    def _route(self, text: str, districts: Iterable[str] | None) -> tuple[list[str], str | None]:
        """(districts to ask, ``text`` normalized or None when one candidate needs no prefix
        read): the text is normalized once, here, and handed down with it."""
        candidates = self._candidates(districts)
        if len(candidates) < 2 or self._match is None:
            return candidates, None
        norm = normalize(text) if isinstance(text, str) else ""
        return self._agreeing(norm, candidates), norm

    def geocode(self, text: str, districts: Iterable[str] | None = None) -> GeocodeResult:
        """Geocode one address in the districts it can be in (``districts``: those the caller may
        read; None: all)."""
        if not isinstance(text, str):
            raise BadInput(f"address: expected text, got {type(text).__name__}", field="q")
        asked, norm = self._route(text, districts)
        if not asked:
            return GeocodeResult(
                text, "unmatched", reason="no district of yours serves this address"
            )
        return _best([self.geocoder(d).geocode(text, normalized=norm) for d in asked])

    def geocode_many(
        self, texts: Iterable[str], districts: Iterable[str] | None = None
    ) -> list[GeocodeResult]:
        """Geocode many addresses; each district's geocoder takes its share as one batch."""
        texts = [t if isinstance(t, str) else "" for t in texts]
        candidates = self._candidates(districts)
        if len(candidates) == 1:
            return self.geocoder(candidates[0]).geocode_many(texts)
        if not candidates:
            return [self.geocode(t, ()) for t in texts]
        # each text normalized once, to route it and for every district asked (each
        # district's geocoder normalized it again before: the batch cost more than one call
        # each, which hands the text down normalized)
        norms = [normalize(t) for t in texts]
        routes = [self._agreeing(n, candidates) for n in norms]
        answers: dict[str, dict[int, GeocodeResult]] = {}
        for code in candidates:
            rows = [i for i, r in enumerate(routes) if code in r]
            if rows:
                found = self.geocoder(code).geocode_many(
                    [texts[i] for i in rows], normalized=[norms[i] for i in rows]
                )
                answers[code] = dict(zip(rows, found, strict=True))
        return [_best([answers[c][i] for c in r]) for i, r in enumerate(routes)]

    def reverse(
        self,
        lon: float,
        lat: float,
        crs: str = "wgs84",
        max_distance_m: float = 200.0,
        districts: Sequence[str] | None = None,
    ) -> ReverseResult:
        """The nearest library address of the district the point lies in (of the nearest one's,
        when it lies in none of them) and the grids at the point."""
        from geo_grid.crs import points_to_storage

        candidates = self._candidates(districts)
        if not candidates:
            raise BadInput("point: no district of yours is served here", field="lon")
        xs, ys = points_to_storage([float(lon)], [float(lat)], crs)
        home = self._locate(float(xs[0]), float(ys[0])) if self._locate else None
        if home in candidates:
            return self.geocoder(home).reverse(lon, lat, crs, max_distance_m=max_distance_m)
        found = [self.geocoder(c).reverse(lon, lat, crs, max_distance_m=max_distance_m)
                 for c in candidates]  # fmt: skip
        near = [r for r in found if r.distance_m is not None]
        return min(near, key=lambda r: r.distance_m) if near else found[0]


def _in_line(codes: tuple[str, ...], district: str) -> bool:
    """Whether one admin component (its possible codes) can lie in, or above, ``district``."""
    return any(c.startswith(district) or district.startswith(c) for c in codes)


def _best(results: list[GeocodeResult]) -> GeocodeResult:
    """One answer from the districts asked: the best status, then confidence; two districts
    matching within :data:`_MARGIN` of each other are ``ambiguous`` between them."""
    if len(results) == 1:
        return results[0]
    ranked = sorted(results, key=lambda r: (_RANK[r.status], r.confidence), reverse=True)
    top, second = ranked[0], ranked[1]
    close = top.confidence - second.confidence < _MARGIN and top.grid_code != second.grid_code
    if top.status == "matched" and second.status == "matched" and close:
        return _ambiguous(top, [r for r in ranked if r.status == "matched"])
    return top


def _ambiguous(top: GeocodeResult, matched: list[GeocodeResult]) -> GeocodeResult:
    from geo_grid.address.geocode import Candidate

    alternatives = tuple(
        Candidate(r.confidence, r.grid_code, r.lon, r.lat, r.address_id, r.matched_text)
        for r in matched
    )
    return replace(
        top,
        status="ambiguous",
        grid_code=None,
        grids={},
        address_id=None,
        matched_text=None,
        alternatives=alternatives,
        reason=f"the address fits {len(matched)} districts equally well",
    )
