"""Geocode Chinese addresses against the standard address library 标准地址库, knowing when unsure.

A wrong grid sent with confidence costs a dispatch; an honest "ambiguous" costs a phone call. So the
:class:`Geocoder` answers ``matched`` only when its confidence reaches the threshold (default 0.6),
and otherwise ``ambiguous`` (with the competing candidates and their grids) or ``unmatched`` (with
the reason and the best coarse hint it has).

Matching, in order (every string goes through :func:`geo_grid.address.normalize` first):

1. the admin prefix (province/city/district/street/community, full or partial) is peeled off and
   remembered as a *claim*;
2. exact key: the rest equals a library ``local_text`` (or the whole equals a ``full_text``);
3. component-wise: a known road + door, 小区 + building + unit + room, or village + group + door;
4. fuzzy: rapidfuzz over road/小区/village names (within the claimed community or street first),
   plus names that sound the same (toneless pinyin via pypinyin: 姚佳路 → 尧佳路); every name
   close to the best is tried component-wise, names under which the query's numbers exist in full
   win, and two that both fit leave the answer ambiguous;
5. fallback to the road segment (door numbers interpolated), building, 小区, road, community or
   street, whose confidence is scaled by how much of it lies in one unified grid.

A name one character short of another real name (华水苑 beside 华水名苑, 燕平街 beside 燕平大街) is
what a caller who dropped that character writes: when the longer name has the same numbers, both
compete, so the answer is ``ambiguous`` with both unless the admin prefix decides.

An admin claim that contradicts the matched address (the street says 尧化 but the road is in 仙林)
lowers confidence; claims are sets of codes, because names repeat (上坝村 is a village of two
streets) and a name alone must not pick one. A fuzzy name never scores 0.9 or more, so only exact
evidence reaches the "confident" band.

Examples
--------
>>> from geo_grid.testing import made_up_place, sample_library
>>> place = made_up_place()
>>> lib, streets, communities = sample_library(place)
>>> g = Geocoder(lib, streets, communities, district=place.district)
>>> row = lib.iloc[11]                    # its full text: province … community, road, door
>>> r = g.geocode(row.full_text + " 楼道堆物")
>>> r.status, r.level, r.grid_code == row.grid_code, r.confidence >= 0.9
('matched', '门牌', True, True)
>>> g.geocode("东胡路12号").status   # a homophone typo: matched, but not with high confidence
'matched'
>>> g.geocode("月球路1号").status
'unmatched'
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import re
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from geo_grid.address._admin_memo import AdminMemo
from geo_grid.address._components import CodedColumn, ComponentIndex
from geo_grid.address._names import NamePool
from geo_grid.address._scan import NameScan
from geo_grid.address._sounds import sound
from geo_grid.address._texts import TextColumn, TextIndex, TextRows
from geo_grid.address.gazetteer import (
    AdminLink,
    AdminMatch,
    DistrictNames,
    Gazetteer,
    short_names,
)
from geo_grid.address.normalize import normalize, normalize_name
from geo_grid.address.numerals import CHINESE_DIGITS, chinese_to_arabic
from geo_grid.address.parse import LIBRARY_COMPONENTS, parse
from geo_grid.crs import points_to_storage, to_local
from geo_grid.errors import BadInput
from geo_grid.layers import UNIFIED

__all__ = ["Candidate", "GeocodeResult", "Geocoder", "ReverseResult", "LEVELS"]

#: Match levels, finest first.
LEVELS: tuple[str, ...] = ("门牌", "楼栋", "小区", "道路", "社区", "街道")

_REQUIRED = ("address_id", "full_text", "local_text", "grid_code", "lon", "lat")
_BASE = {
    "exact": 0.99,
    "门牌": 0.97,
    "楼栋": 0.92,
    "小区": 0.88,
    "道路": 0.8,
    "社区": 0.6,
    "街道": 0.4,
}
_STREET_CONFLICT = 0.7
#: Similarity given to a name that sounds exactly like the query's (a homophone, 姚佳路 → 尧佳路).
_SOUND_SIM = 0.92
#: Names this close to the best fuzzy similarity are all tried (and may make it ambiguous).
_FUZZY_BAND = 0.05
#: The least ``fuzz.ratio`` (0-100) a name needs to be tried at all.
_CUTOFF = 55.0
#: ... and when a name sounds like the query's (similarity _SOUND_SIM): below the band under it
#: a name is never tried, so rapidfuzz need not find it (the 1e-6 keeps a name scoring the
#: band's edge up to float rounding).
_SOUNDED_CUTOFF = 100 * (_SOUND_SIM - _FUZZY_BAND) - 1e-6
#: A fuzzy answer is never "confident": the name was not written as the library writes it.
_FUZZY_CAP = 0.89
#: A fuzzy name this unlike the query's adds no confidence at all (火星大道 is not 星园大道).
_SIM_FLOOR = 0.55
_COMMUNITY_CONFLICT = 0.85
_NUMBERS = {
    "door": re.compile(r"(\d+)号"),
    "building": re.compile(r"(\d+)栋"),
    "unit": re.compile(r"(\d+)单元"),
    "room": re.compile(r"(\d+)室"),
    "group": re.compile(r"(\d+)组"),
}
_HEAD = re.compile(r"^[^\d]+")
#: The chains of parts the library's rows are indexed by (:class:`ComponentIndex`)
_CHAINS = {
    "road": ("road", "door_no"),
    "xq": ("xiaoqu", "building", "unit", "room"),
    "v": ("village", "group_no", "door_no"),
}
_ABOVE_STREET = ("province", "city", "district")
_FIRST_DIGIT = re.compile(r"\d")
#: characters past the first digit the gazetteer may look at (its run-on checks look ahead)
_LOOKAHEAD = 8
_ROAD_SUFFIX = ("路", "街", "大道", "巷", "弄")
#: Up to this many names of a claimed area go to rapidfuzz without the bound of
#: :meth:`NamePool.reachable` (scoring them costs less than counting the bound over the pool)
_FEW_NAMES = 200


@dataclass(frozen=True)
class Candidate:
    """One possible answer: an address (or an area's part in one grid) with its confidence."""

    confidence: float
    grid_code: str | None
    lon: float
    lat: float
    address_id: int | None = None
    text: str | None = None


@dataclass(frozen=True)
class GeocodeResult:
    """A geocoder answer; ``lon``/``lat`` in EPSG:4490; ``grids`` maps every layer to a code."""

    query: str
    status: str  # 'matched' | 'ambiguous' | 'unmatched'
    level: str | None = None
    confidence: float = 0.0
    lon: float | None = None
    lat: float | None = None
    address_id: int | None = None
    matched_text: str | None = None
    grid_code: str | None = None
    grids: dict[str, str | None] = field(default_factory=dict)
    community_code: str | None = None
    street_code: str | None = None
    alternatives: tuple[Candidate, ...] = ()
    reason: str | None = None
    normalized: str = ""
    #: the parsed parts of an address outside the district (:class:`AddressParts` as a dict)
    components: dict[str, str | None] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A plain dict for JSON answers."""
        return asdict(self)


#: GeocodeResult's defaults, for :func:`_result` (the dict defaults are made fresh per result).
_RESULT_DEFAULTS = {
    f.name: f.default for f in dataclasses.fields(GeocodeResult) if f.default is not MISSING
}


def _candidate(*values: Any) -> Candidate:
    """A :class:`Candidate` (still frozen) made without the dataclass's ``__init__``, as
    :func:`_result`: up to six per answer."""
    obj = object.__new__(Candidate)
    obj.__dict__.update(zip(_CANDIDATE_FIELDS, values, strict=True))
    return obj


_CANDIDATE_FIELDS = tuple(f.name for f in dataclasses.fields(Candidate))


def _result(**values: Any) -> GeocodeResult:
    """A :class:`GeocodeResult` (still frozen) made without the dataclass's ``__init__``.

    A frozen dataclass sets each of its 17 fields through ``object.__setattr__``: 3-9 µs per
    result, a third of the library-text hot path. Filling the instance dict directly gives the
    same object (equality, ``asdict``, pickling and immutability are unchanged).
    """
    obj = object.__new__(GeocodeResult)
    state = {**_RESULT_DEFAULTS, "grids": {}, "components": {}}
    state.update(values)
    obj.__dict__.update(state)
    return obj


@dataclass(frozen=True)
class ReverseResult:
    """The nearest library address to a point, and the grids of the point itself."""

    lon: float
    lat: float
    address_id: int | None
    full_text: str | None
    distance_m: float | None
    grid_code: str | None
    grids: dict[str, str | None]


class _Rows(list):
    """The rows of an area lying in one grid, and their mean point once an answer needed it:
    the grouping is memoized per index key (:meth:`Geocoder._grid_groups`), so the point is
    too (the mean of a road's thousand addresses cost ~10 µs a fuzzy answer)."""

    __slots__ = ("point",)


@dataclass
class _Hit:
    rows: list[int]
    level: str
    base: float
    reason: str = ""
    #: the index key ``rows`` is the list of, when it is one (memoizes its grids, see
    #: :meth:`Geocoder._grid_groups`)
    key: tuple | None = None


class Geocoder:
    """Indexes over one address library, and the matching cascade over them.

    Parameters
    ----------
    library
        The standard address library (columns ``address_id, full_text, local_text, street_code,
        community_code, road, door_no, xiaoqu, building, unit, room, village, group_no,
        grid_code, lon, lat``; lon/lat EPSG:4490). ``grid_code`` may be left out when ``locate``
        is a LocateIndex: each point's unified grid is then taken from it.
    streets, communities
        Admin lists: ``code, name`` (and for communities ``short_name, parent_code``).
    locate
        Optional: a :class:`geo_grid.locate.LocateIndex` (grids of every library point are then
        computed once, vectorized) or a callable ``(lon, lat) -> {layer: code}`` in storage CRS.
    grids_by_layer
        Optional ``{layer: GeoDataFrame(code, geometry)}``; a LocateIndex is built from it.
    district
        The names of the library's district (:class:`DistrictNames`): its admin prefix, full or
        short (浙江省温州市乐清市, 温州乐清), is taken off a query. Without it only the store's
        streets and communities are recognised.
    gazetteer
        The national :class:`Gazetteer`: an address whose admin prefix names a division outside
        ``district`` (浙江省温州市乐清市…) is answered ``unmatched`` with the reason and its parsed
        components, never matched to a look-alike inside the district.
    threshold
        Confidence below which an answer is never ``matched``.
    """

    def __init__(
        self,
        library: pd.DataFrame,
        streets: pd.DataFrame,
        communities: pd.DataFrame,
        *,
        locate: Any = None,
        grids_by_layer: Mapping[str, Any] | None = None,
        district: DistrictNames | None = None,
        gazetteer: Gazetteer | None = None,
        threshold: float = 0.6,
        max_alternatives: int = 5,
    ) -> None:
        if not 0 < threshold <= 1:
            raise BadInput(f"threshold: {threshold!r} is not in (0, 1]", field="threshold")
        if locate is None and grids_by_layer:
            from geo_grid.locate import LocateIndex

            locate = LocateIndex(grids_by_layer)
        # with a LocateIndex the unified grid of each library point can be derived, not given
        derivable = {"grid_code"} if hasattr(locate, "locate_many") else set()
        missing = [c for c in _REQUIRED if c not in library.columns and c not in derivable]
        if missing:
            raise BadInput(f"address library: missing columns {missing}", field="library")
        self.threshold = threshold
        self.max_alternatives = max_alternatives
        self.district = district
        self.gazetteer = gazetteer
        self._prefixes = district.prefixes() if district is not None else ()
        self._admin_match = _memoized_match(gazetteer)
        lib = library.reset_index(drop=True)
        # the given grid of each point, not the frame: a city's library frame is ~500 MB
        given = lib["grid_code"].astype(str).tolist() if "grid_code" in lib else None
        self._given_grid = _interned(given) if given is not None else None
        self._ids = lib["address_id"].to_numpy()
        self._unique_ids = len(pd.unique(self._ids)) == len(self._ids)
        self._full = TextColumn(lib["full_text"].astype(str).tolist())
        self._lon = lib["lon"].to_numpy(float)
        self._lat = lib["lat"].to_numpy(float)
        self._street = _interned(_col(lib, "street_code"))
        self._community = _interned(_col(lib, "community_code"))
        self._attach(locate)
        self._build_keys(lib)
        self._build_lookalikes()
        self._build_admin(streets, communities)
        self._build_verbatim()
        self._prove_twins()
        self._local_xy = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the memos of admin prefixes, nearby names and grids of an area
        (caches, rebuilt on load)."""
        state = self.__dict__.copy()
        state["_admin_match"] = None
        state["_near"] = {}
        state["_groups"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_groups", {})
        self._admin_match = _memoized_match(self.gazetteer)

    def relocated(self, locate: Any) -> Geocoder:
        """This geocoder over another locate index (a publish changed the grids): the address
        indexes, seconds of CPU to build over a district's library, are shared; only each
        library point's grids are looked up again, in one vectorized pass, and the library
        texts with a one-character-longer twin proven again (a twin in another grid is a
        rival, in the same grid none: ~0.5 CPU s per 100,000 addresses)."""
        other = copy.copy(self)
        other._attach(locate)
        other._prove_twins()
        return other

    # ------------------------------------------------------------------ building
    def _attach(self, locate: Any) -> None:
        """Each library point's grids (one per layer) and the lookup of other points' grids."""
        self._locate_one, self._row_grids = self._setup_locate(locate)
        if self._given_grid is not None:
            self._grid = self._given_grid
        else:  # str(): a point in no grid is the text 'None', as the library frame wrote it
            self._grid = _interned(str(r.get(UNIFIED)) for r in self._row_grids)

    def _setup_locate(self, locate) -> tuple[Callable | None, list[dict] | None]:
        if locate is None:
            return None, None
        if hasattr(locate, "locate_many"):
            frame = locate.locate_many(self._lon, self._lat, "cgcs2000")
            layers = list(locate.layers)
            # zip of column lists: DataFrame.to_dict("records") costs ~20 s on a city's 1.2 M
            columns = [frame[layer].tolist() for layer in layers]
            return locate.grids_at, _shared_rows(layers, columns)
        if callable(locate):
            return locate, None
        raise BadInput("locate: expected a LocateIndex or a callable", field="locate")

    def _build_keys(self, lib: pd.DataFrame) -> None:
        local_keys: list[str] = []
        full_keys: list[str] = []
        # library text is clean: the full text is an admin prefix (few distinct) + the local text,
        # so each part is normalized once per distinct value (100k addresses build in ~1 s)
        prefix_key = functools.lru_cache(maxsize=None)(normalize_name)
        for local, full in zip(lib["local_text"], lib["full_text"], strict=True):
            local, full = str(local), str(full)
            local_key = normalize_name(local)
            local_keys.append(local_key)
            if full.endswith(local):
                full_key = prefix_key(full[: len(full) - len(local)]) + local_key
            else:
                full_key = normalize_name(full)
            full_keys.append(full_key)
        # one joined text and offsets per index, not a str, a list and an int per address
        self._by_local = TextIndex(local_keys)
        del local_keys
        self._by_full = TextIndex(full_keys)
        del full_keys
        norm = functools.lru_cache(maxsize=None)(_norm)
        comp = {k: CodedColumn(norm(v) for v in _col(lib, k)) for k in LIBRARY_COMPONENTS}
        self._comp = comp
        self._index = ComponentIndex(_CHAINS, comp)
        self._doors: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for i, (road, door) in enumerate(zip(comp["road"], comp["door_no"], strict=True)):
            if road and door and door.isdigit():
                self._doors[road].append((int(door), i))
        self._names: dict[str, list[str]] = {}
        self._by_sound: dict[str, dict[str, list[str]]] = {}
        self._name_scan: dict[str, NameScan] = {}
        self._name_admin: dict[tuple[str, str], set[str]] = defaultdict(set)
        self._names_in: dict[tuple[str, str], list[int]] | None = None
        self._near: dict[tuple[str, frozenset], Any] = {}
        self._groups: dict[tuple, list[tuple[str, list[int]]]] = {}
        for kind, col in (("road", "road"), ("xq", "xiaoqu"), ("v", "village")):
            names = sorted({n for n in comp[col] if n}, key=lambda s: (-len(s), s))
            self._names[kind] = names
            sounds: dict[str, list[str]] = defaultdict(list)
            for n in names:
                sounds[sound(n)].append(n)
            self._by_sound[kind] = sounds
            self._name_scan[kind] = NameScan(names)
            for n, street, community in zip(comp[col], self._street, self._community, strict=True):
                if n:
                    codes = self._name_admin[(kind, n)]
                    if street:
                        codes.add(street)
                    if community:
                        codes.add(community)

        self._pool = NamePool(self._names)

    def _build_lookalikes(self) -> None:
        """Names one character longer than another name of the same kind (华水名苑 for 华水苑,
        燕平大街 for 燕平街): a caller who drops that character writes the shorter, real name, so
        an exact match on it is not evidence enough for a confident answer."""
        self._longer: dict[tuple[str, str], list[str]] = defaultdict(list)
        for kind, names in self._names.items():
            known = set(names)
            for name in names:
                for i in range(len(name)):
                    shorter = name[:i] + name[i + 1 :]
                    if shorter in known and name not in self._longer[(kind, shorter)]:
                        self._longer[(kind, shorter)].append(name)
        self._longer = {k: v for k, v in self._longer.items() if v}
        shorter = {
            col: {name for (k, name) in self._longer if k == kind}
            for kind, col in (("road", "road"), ("xq", "xiaoqu"), ("v", "village"))
        }
        self._has_longer = frozenset(  # row numbers, tested once per exact query
            i
            for i, (road, xq, v) in enumerate(
                zip(self._comp["road"], self._comp["xiaoqu"], self._comp["village"], strict=True)
            )
            if road in shorter["road"] or xq in shorter["xiaoqu"] or v in shorter["village"]
        )

    def _build_verbatim(self) -> None:
        """Each library text as stored, with the address :meth:`geocode` answers it with from
        its hot path: the text normalized is the key of exactly that one address, and no name
        one character longer competes. :meth:`geocode` then answers such a text from one
        lookup (:class:`TextRows`: the rows, their texts' hashes and the stored texts, no
        dict of a million ``str``), without normalizing it (normalization was most of an exact
        geocode: ~15 of ~28 µs); the normalized key the answer carries is the address's own
        key. One normalization per address here: ~1.5 CPU s per 100,000 addresses. The
        texts whose address has a one-character-longer twin are kept for
        :meth:`_prove_twins`."""
        verbatim: list[int] = []
        self._twin_texts: list[int] = []
        # 1 where the text is its own normalized form, so its key (the answer's ``normalized``)
        # is the query itself and need not be sliced out of the keys
        self._own_key = array("b", bytes(len(self._full)))
        for i, text in enumerate(self._full):
            norm = normalize(text)
            rows = self._by_full.get(norm)
            # a text whose normalized form is another row's key (never in a city's library)
            # is left to the lookup by that key: the same answer
            if rows == [i]:
                (self._twin_texts if i in self._has_longer else verbatim).append(i)
                self._own_key[i] = norm == text
        self._verbatim = TextRows(self._full, verbatim)

    def _prove_twins(self) -> None:
        """The library texts left to the cascade because a name one character longer may
        compete (燕平街 beside 燕平大街: the caller may have dropped 大), each answered by the
        cascade once: where that answer is the hot path's own (the twin lacks the numbers, or
        the text's admin prefix rules it out: 68,814 of a city's 68,826), :meth:`geocode`
        answers the text from this index too (each cost ~300 µs, 5.7 % of a city's texts: half
        an exact batch's time). Whether a twin is a rival depends on the grids (one in the same
        grid is none), so :meth:`relocated` proves them again: ~7 CPU s over a city."""
        proven = []
        for i in self._twin_texts:
            text, key = self._full[i], self._by_full.key_of(i)
            if self._cascade(text, key) == self._exact_result(text, key, i):
                proven.append(i)
        self._twins = TextRows(self._full, proven)

    def _build_admin(self, streets: pd.DataFrame, communities: pd.DataFrame) -> None:
        self._admin_names: list[tuple[str, str, str]] = []  # (name, kind, code)
        self._community_parent: dict[str, str] = {}
        for rec in streets.itertuples(index=False):
            self._admin_names.append((normalize_name(str(rec.name)), "street", str(rec.code)))
        for rec in communities.itertuples(index=False):
            code = str(rec.code)
            names = {normalize_name(str(rec.name))}
            short = getattr(rec, "short_name", None)
            if isinstance(short, str) and short:
                names.add(normalize_name(short))
            for name in names:
                self._admin_names.append((name, "community", code))
            parent = getattr(rec, "parent_code", None)
            if isinstance(parent, str) and parent:
                self._community_parent[code] = parent
        self._admin_by_name: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for name, kind, code in self._admin_names:
            self._admin_by_name[name].append((kind, code))
        # the lengths of the names starting with each character, longest first: a query is
        # sliced only at lengths a name starting with its first character has (a city's 1,255
        # communities have a dozen lengths, and the strip tried each at every step)
        lengths: dict[str, set[int]] = defaultdict(set)
        for name in self._admin_by_name:
            if name:
                lengths[name[0]].add(len(name))
        # an empty name (never in a store) matched at length 0 wherever the strip looked
        self._admin_empty = (0,) if "" in self._admin_by_name else ()
        self._admin_lengths = {
            ch: (*sorted(ls, reverse=True), *self._admin_empty) for ch, ls in lengths.items()
        }
        # names that can only be inside the district: its own, its streets and communities
        home = set(self._admin_by_name)
        if self.district is not None:
            home.update(short_names(self.district.district, "district"))
            home.add(self.district.district)
        self._home_names = frozenset(home)
        self._home_lengths = sorted({len(n) for n in home}, reverse=True)
        upper: set[str] = set()  # the district's province and city, full and short
        for level in ("province", "city"):
            name = getattr(self.district, level, None) if self.district else None
            if name:
                upper.update((name, *short_names(name, level)))
        self._upper_names = tuple(sorted(upper, key=len, reverse=True))
        rows_by_admin: dict[str, list[int]] = defaultdict(list)
        for i, (street, community) in enumerate(zip(self._street, self._community, strict=True)):
            if street:
                rows_by_admin[street].append(i)
            if community:
                rows_by_admin[community].append(i)
        # arrays, not lists of ints: every row is in two of them (~100 bytes a row as lists)
        self._rows_by_admin = {c: np.asarray(r, np.int64) for c, r in rows_by_admin.items()}

    # ------------------------------------------------------------------ public API
    def geocode(self, text: str, *, normalized: str | None = None) -> GeocodeResult:
        """Geocode one free-text address (see the module docstring for the cascade).

        ``normalized`` is ``normalize(text)`` when the caller has it already (several districts'
        geocoders asked for one text: it is normalized once)."""
        if not isinstance(text, str):
            raise BadInput(f"address: expected text, got {type(text).__name__}", field="q")
        row = self._verbatim.get(text)
        if row is None:
            row = self._twins.get(text)
        if row is not None:  # a library text as stored: the hot path below, proven at build
            key = text if self._own_key[row] else self._by_full.key_of(row)
            return self._exact_result(text, key, row, stored=text)
        norm = normalize(text) if normalized is None else normalized
        if not norm:
            return GeocodeResult(text, "unmatched", reason="no address text", normalized=norm)
        full = self._by_full.get(norm)
        if full is not None and len(full) == 1 and full[0] not in self._has_longer:
            return self._exact_result(text, norm, full[0])  # the library's own text: hot path
        return self._cascade(text, norm)

    def _cascade(self, text: str, norm: str) -> GeocodeResult:
        """Steps 1-5 of the module docstring over a normalized, non-empty text."""
        admin = self._admin_prefix(norm)
        outside = self._outside(admin)
        if outside is not None:
            return self._not_onboarded(text, norm, outside)
        claim, local = self._strip_admin(norm, admin)
        hits = self._exact(norm, local) or self._components(local, 1.0)
        if hits:
            hits += self._lookalikes(hits, local)
        else:
            hits = self._fuzzy(local, claim)
        if not hits:
            hits = self._admin_fallback(claim)
        if not hits:
            return GeocodeResult(
                text,
                "unmatched",
                reason="no road, 小区, village or admin area of the library found in the text",
                normalized=norm,
            )
        return self._decide(text, norm, claim, hits)

    def _exact_result(
        self, text: str, norm: str, i: int, stored: str | None = None
    ) -> GeocodeResult:
        """The answer of library address ``i`` to a text that is its own (confidence 0.99);
        ``stored`` is its library text when the caller has it (compared equal already)."""
        grid = self._grid[i]
        grids = dict(self._row_grids[i]) if self._row_grids is not None else {}
        grids[UNIFIED] = grid
        return _result(
            query=text,
            status="matched",
            level="门牌",
            confidence=_BASE["exact"],
            lon=self._lon.item(i),
            lat=self._lat.item(i),
            address_id=int(self._ids[i]),
            matched_text=self._full[i] if stored is None else stored,
            grid_code=grid,
            grids=grids,
            community_code=self._community[i],
            street_code=self._street[i],
            normalized=norm,
        )

    def geocode_many(
        self, texts: Iterable[str], normalized: Iterable[str] | None = None
    ) -> list[GeocodeResult]:
        """Geocode many addresses, answered in the order given; repeated strings are computed
        once. ``normalized`` gives each text's ``normalize(text)`` when the caller has them (as
        :meth:`geocode`'s: a set of districts' geocoders normalized each text to route it).

        The texts are geocoded in sorted order: neighbours then share their admin prefix and
        road names, so the memos and the CPU's caches still hold what the next one reads. On
        the city's fuzzy and mix queries this took 16 % less CPU than the order given (9 of 10
        alternating pairs, load 1.1); the texts themselves are sorted, not their normalized
        form, which a library text's exact path never computes.
        """
        keys = [t if isinstance(t, str) else "" for t in texts]
        norms = list(normalized) if normalized is not None else None
        out: list[GeocodeResult | None] = [None] * len(keys)
        memo: dict[str, GeocodeResult] = {}
        for i in sorted(range(len(keys)), key=keys.__getitem__):
            res = memo.get(keys[i])
            if res is None:
                res = self.geocode(keys[i], normalized=None if norms is None else norms[i])
                memo[keys[i]] = res
            out[i] = res
        return out  # type: ignore[return-value]  (every index set above)

    def reverse(
        self, lon: float, lat: float, crs: str = "wgs84", max_distance_m: float = 200.0
    ) -> ReverseResult:
        """The nearest library address within ``max_distance_m`` and the grids at the point."""
        import geopandas as gpd
        import shapely

        xs, ys = points_to_storage(np.array([lon], float), np.array([lat], float), crs)
        if self._local_xy is None:
            pts = gpd.GeoSeries(shapely.points(self._lon, self._lat), crs=4490)
            local = to_local(pts)
            self._local_xy = np.column_stack([local.x.to_numpy(), local.y.to_numpy()])
        q = to_local(gpd.GeoSeries(shapely.points(xs, ys), crs=4490))
        d2 = (self._local_xy[:, 0] - q.x.iloc[0]) ** 2 + (self._local_xy[:, 1] - q.y.iloc[0]) ** 2
        i = int(np.argmin(d2)) if len(d2) else -1
        grids = self._locate_one(float(xs[0]), float(ys[0])) if self._locate_one else {}
        grids = dict(grids)
        if i < 0 or d2[i] > max_distance_m**2:
            return ReverseResult(
                float(xs[0]), float(ys[0]), None, None, None, grids.get(UNIFIED), grids
            )
        return ReverseResult(
            float(xs[0]),
            float(ys[0]),
            int(self._ids[i]),
            str(self._full[i]),
            float(np.sqrt(d2[i])),
            grids.get(UNIFIED, self._grid[i]),
            grids,
        )

    # ------------------------------------------------------------------ cascade steps
    def _admin_prefix(self, norm: str) -> AdminMatch | None:
        """The gazetteer's admin prefix of a normalized query (None without a gazetteer)."""
        if self._admin_match is None or self._inside_for_sure(norm):
            return None
        digit = _FIRST_DIGIT.search(norm)
        if digit is None:
            return self._admin_match(norm)
        head = norm[: digit.start() + _LOOKAHEAD]
        return self._admin_match(self.gazetteer.match_key(head, digit.start()))

    def _inside_for_sure(self, norm: str) -> bool:
        """True when no division outside the district can be named: after the district's own
        province and city (浙江温州), the text starts with no division name, or with one of the
        district's own names at least as long as any (朝阳区, 建外街道; 朝阳市 is Liaoning's)."""
        pos, stripped = 0, True
        while stripped:
            stripped = False
            for name in self._upper_names:
                if norm.startswith(name, pos):
                    pos, stripped = pos + len(name), True
                    break
        longest = self.gazetteer.longest_name(norm, pos) if self.gazetteer is not None else 0
        if longest == 0:
            return True
        rest = norm[pos:]
        home = next((n for n in self._home_lengths if rest[:n] in self._home_names), 0)
        return home >= longest

    def _outside(self, admin: AdminMatch | None) -> AdminLink | None:
        """The first admin component of the query that lies outside the district, or None."""
        if admin is None or self.district is None:
            return None
        home = self.district.code
        for link in admin.links:
            if not any(c.startswith(home) or home.startswith(c) for c in link.codes):
                return link
        return None

    def _not_onboarded(self, text: str, norm: str, link: AdminLink) -> GeocodeResult:
        """``unmatched``: the address names a division this library does not cover."""
        assert self.district is not None and self.gazetteer is not None  # see _outside
        where = "".join(filter(None, (self.district.city, self.district.district)))
        named = norm[: link.end]
        codes = "/".join(link.codes) if len(link.codes) <= 3 else f"{len(link.codes)} divisions"
        return GeocodeResult(
            text,
            "unmatched",
            reason=f"district not onboarded: {named} ({codes}) is not in {where}",
            normalized=norm,
            components=parse(norm, gazetteer=self.gazetteer).to_dict(),
        )

    def _strip_admin(
        self, norm: str, admin: AdminMatch | None = None
    ) -> tuple[dict[str, frozenset[str]], str]:
        """Peel the admin prefix off; claims are *sets* of codes (two villages share 上坝村).

        Province, city and district found by the gazetteer (``admin``) go first; then the store's
        streets and communities and the district's own names, in any order.
        """
        claim: dict[str, frozenset[str]] = {}
        upper = [link for link in admin.links if link.level in _ABOVE_STREET] if admin else []
        text = norm[upper[-1].end :] if upper else norm
        changed = True
        while changed and text:
            changed = False
            for length in self._admin_lengths.get(text[0], self._admin_empty):
                if length >= len(text):
                    continue
                entries = self._admin_by_name.get(text[:length])
                if not entries:
                    continue
                kind = entries[0][0]
                codes = frozenset(c for k, c in entries if k == kind)
                if kind in claim:
                    continue
                if kind == "community" and "street" in claim:
                    codes = (
                        frozenset(
                            c for c in codes if self._community_parent.get(c) in claim["street"]
                        )
                        or codes
                    )
                claim[kind] = codes
                if text[length].isdigit():  # 石埠桥村3组: the village itself, keep it
                    break
                text = text[length:]
                changed = True
                break
            if changed:
                continue
            for (
                prefix
            ) in self._prefixes:  # after the admin names: 朝阳街道 is a street, not 朝阳+街道
                if text.startswith(prefix):
                    text = text[len(prefix) :]
                    changed = True
                    break
        if "community" in claim and "street" not in claim:
            parents = {self._community_parent.get(c) for c in claim["community"]} - {None}
            if parents:
                claim["street_implied"] = frozenset(parents)
        return claim, text

    def _exact(self, norm: str, local: str) -> list[_Hit]:
        rows = self._by_local.get(local) or self._by_full.get(norm)
        return [_Hit(list(rows), "门牌", _BASE["exact"])] if rows else []

    def _lookalikes(self, hits: list[_Hit], local: str) -> list[_Hit]:
        """The same numbers under a name one character longer (华水名苑 when the query says
        华水苑): the caller may have dropped that character, so those addresses compete."""
        out: list[_Hit] = []
        seen: set[tuple[str, str]] = set()
        for hit in hits:
            if hit.level not in ("门牌", "楼栋") or hit.rows[0] not in self._has_longer:
                continue
            i = hit.rows[0]
            for kind, col in (("road", "road"), ("xq", "xiaoqu"), ("v", "village")):
                for longer in self._longer.get((kind, self._comp[col][i]), ()):
                    if (kind, longer) in seen:
                        continue
                    seen.add((kind, longer))
                    for h in self._components(local, 1.0, {kind: longer}):
                        if LEVELS.index(h.level) <= LEVELS.index(hit.level):  # numbers there too
                            h.reason = f"{longer} has the same numbers: a character may be missing"
                            out.append(h)
        return out

    def _numbers(self, text: str) -> dict[str, str]:
        return _numbers_in(text)

    def _components(self, local: str, sim: float, forced: dict | None = None) -> list[_Hit]:
        """Hits for the known names in ``local`` (or the ``forced`` fuzzy names)."""
        found = dict(forced or {})
        if not forced:
            for kind in ("road", "xq", "v"):
                m = self._name_scan[kind].search(local)
                if m is not None:
                    start, end, found[kind] = m
                    local = local[:start] + "|" + local[end:]
        if not found:
            return []
        nums = self._numbers(local)
        hits: list[_Hit] = []
        if "xq" in found:
            hits += self._xiaoqu_hits(found["xq"], nums)
        if "v" in found:
            hits += self._village_hits(found["v"], nums)
        if "road" in found:
            hits += self._road_hits(found["road"], nums)
        if sim < 1.0:  # a name found by likeness: 0.95 keeps the confidence, 0.75 halves it
            factor = min(1.0, max(0.0, (sim - _SIM_FLOOR) / (0.95 - _SIM_FLOOR)))
            for h in hits:
                h.base *= factor
        return hits

    def _xiaoqu_hits(self, xq: str, n: dict[str, str]) -> list[_Hit]:
        idx = self._index
        b, u, r = n.get("building"), n.get("unit"), n.get("room")
        if b and u and r and ("xq", xq, b, u, r) in idx:
            return [_Hit(idx[("xq", xq, b, u, r)], "门牌", _BASE["门牌"])]
        if b and ("xq", xq, b) in idx:
            if r and not u:  # unit left out: the room may still pick one address
                rooms, room = self._comp["room"].codes, self._comp["room"].number.get(r, -1)
                rows = [i for i in idx[("xq", xq, b)] if rooms[i] == room]
                if len(rows) == 1:
                    return [_Hit(rows, "门牌", _BASE["门牌"] * 0.95)]
            if u and ("xq", xq, b, u) in idx:
                key = ("xq", xq, b, u)
                return [_Hit(idx[key], "楼栋", _BASE["楼栋"], "room not in library", key)]
            key = ("xq", xq, b)
            return [_Hit(idx[key], "楼栋", _BASE["楼栋"], "unit/room not in library", key)]
        reason = "building not in library" if b else "no building given"
        return [_Hit(idx[("xq", xq)], "小区", _BASE["小区"], reason, ("xq", xq))]

    def _village_hits(self, v: str, n: dict[str, str]) -> list[_Hit]:
        idx = self._index
        g, d = n.get("group"), n.get("door")
        if g and d and ("v", v, g, d) in idx:
            return [_Hit(idx[("v", v, g, d)], "门牌", _BASE["门牌"])]
        if g and ("v", v, g) in idx:
            key = ("v", v, g)
            return [_Hit(idx[key], "小区", _BASE["小区"], "door not in library", key)]
        return [_Hit(idx[("v", v)], "社区", _BASE["社区"] + 0.1, "no group given", ("v", v))]

    def _road_hits(self, road: str, n: dict[str, str]) -> list[_Hit]:
        idx = self._index
        d = n.get("door")
        if d and ("road", road, d) in idx:
            rows = idx[("road", road, d)]
            if len(rows) > 1:
                # the parts' numbers compared, not their texts (CodedColumn: 0 is none)
                comp = self._comp
                buildings = comp["building"].codes
                plain = [i for i in rows if not buildings[i]]
                wanted = [
                    (comp[k].codes, comp[k].number.get(n[k], -1))
                    for k in ("building", "unit", "room")
                    if n.get(k)
                ]
                narrowed = [i for i in rows if all(codes[i] == code for codes, code in wanted)]
                rows = narrowed if len(narrowed) == 1 else (plain or rows)
            return [_Hit(rows, "门牌", _BASE["门牌"])]
        if d and d.isdigit() and self._doors.get(road):
            return [self._segment(road, int(d))]
        key = ("road", road)
        return [_Hit(idx[key], "道路", _BASE["道路"] - 0.2, "no door number given", key)]

    def _segment(self, road: str, door: int) -> _Hit:
        """A door number missing from the library: the neighbours on the same side of the road."""
        doors = self._doors[road]
        same = [t for t in doors if t[0] % 2 == door % 2] or doors
        below = max((t for t in same if t[0] < door), default=None)
        above = min((t for t in same if t[0] > door), default=None)
        rows = [t[1] for t in (below, above) if t is not None]
        gap = min(abs(t[0] - door) for t in (below, above) if t is not None)
        base = _BASE["道路"] if gap <= 10 else _BASE["道路"] - 0.2
        return _Hit(rows, "道路", base, f"door {door} not in library: road segment")

    def _fuzzy(self, local: str, claim: dict[str, frozenset[str]]) -> list[_Hit]:
        """Names like the query's (by characters, or by sound for homophones), then numbers.

        Every name within :data:`_FUZZY_BAND` of the best similarity is tried; when the query's
        numbers exist in full (门牌) under some of them, names where they do not are dropped, and
        two names that both fit leave the answer ambiguous. A fuzzy answer stays below 0.9.
        """
        head_match = _HEAD.match(local)
        if not head_match:
            return []
        head = head_match.group(0)
        kinds = ("road",) if head.endswith(_ROAD_SUFFIX) else ("xq", "v", "road")
        admin = frozenset().union(*claim.values()) if claim else frozenset()
        heard = sound(head)
        best: dict[tuple[str, str], float] = {}
        near = {kind: self._names_near(kind, admin) if admin else None for kind in kinds}
        sounded = {kind: self._sounded(kind, heard, near[kind]) for kind in kinds}
        # a name sounding like the query's puts the band above _SOUNDED_CUTOFF (half of a fuzzy
        # batch: fewer names reach rapidfuzz, the same are tried)
        cutoff = _SOUNDED_CUTOFF if any(sounded.values()) else _CUTOFF
        # a claimed area's few names go to rapidfuzz as they are; of more, only the names that
        # can reach the cutoff: the same answers as over the whole pool
        pools = {
            k: v[0] if v else self._names[k]
            for k, v in near.items()
            if len(v[0] if v else self._names[k]) <= _FEW_NAMES
        }
        wide = {k: v[1] if v else None for k, v in near.items() if k not in pools}
        if wide:
            pools.update(self._pool.reachable(head, wide, cutoff))
        for kind in kinds:
            # most pools the bound leaves are empty (a homophone's cutoff reaches few names)
            found = (
                process.extract(head, pools[kind], scorer=fuzz.ratio, limit=10, score_cutoff=cutoff)
                if pools[kind]
                else ()
            )
            for name, score, _ in found:
                best[(kind, name)] = max(best.get((kind, name), 0.0), score / 100.0)
            for name in sounded[kind]:
                best[(kind, name)] = max(best.get((kind, name), 0.0), _SOUND_SIM)
        if not best:
            return []
        top = max(best.values())
        kept = sorted(
            ((sim, kind, name) for (kind, name), sim in best.items() if sim >= top - _FUZZY_BAND),
            key=lambda t: (-t[0], t[1], t[2]),
        )[:8]
        hits: list[_Hit] = []
        rest = local[len(head) :]
        for sim, kind, name in kept:
            for h in self._components(rest, sim, {kind: name}):
                h.reason = (h.reason + "; " if h.reason else "") + f"fuzzy name {name} ({sim:.2f})"
                h.base = min(h.base, _FUZZY_CAP)
                hits.append(h)
        if any(h.level == "门牌" for h in hits):
            hits = [h for h in hits if h.level == "门牌"]
        return hits

    def _sounded(self, kind: str, heard: str, near: tuple | None) -> list[str]:
        """The names of ``kind`` (in the claimed areas' ``near``, if any) that sound like
        ``heard``, the query's name."""
        if not heard:
            return []
        members = near[2] if near else self._pool.position[kind]
        return [name for name in self._by_sound[kind].get(heard, ()) if name in members]

    def _names_near(self, kind: str, admin: frozenset[str]) -> tuple[list[str], bytes, set] | None:
        """The names of ``kind`` in any of the claimed admin areas (longest first), as a mask
        over the kind's pool (``bytes`` of 0 and 1: reading one is a plain index, where a numpy
        bool was a scalar made per name) and as a set; None when the areas hold none. Memoized:
        a batch names the same few streets and communities again and again."""
        key = (kind, admin)
        found = self._near.get(key, False)
        if found is False:
            at = self._positions_near(kind, admin)
            if at:
                pool = self._names[kind]
                names = [pool[i] for i in at]
                mask = np.zeros(len(pool), dtype=bool)
                mask[at] = True
                found = (names, mask.tobytes(), set(names))
            else:
                found = None
            if len(self._near) >= 4096:
                self._near.clear()
            self._near[key] = found
        return found

    def _positions_near(self, kind: str, admin: frozenset[str]) -> list[int]:
        """The positions in the kind's pool (longest name first: the pool's order) of the
        names in any of the areas: sorted integers, not names by a key (a fifth of a fuzzy
        batch's areas are new to the memo of :meth:`_names_near`)."""
        if self._names_in is None:
            names_in: dict[tuple[str, str], set[int]] = defaultdict(set)
            for (k, name), codes in self._name_admin.items():
                at = self._pool.position[k][name]
                for code in codes:
                    names_in[(k, code)].add(at)
            self._names_in = {key: sorted(v) for key, v in names_in.items()}
        if len(admin) == 1:
            return self._names_in.get((kind, next(iter(admin))), [])
        return sorted(set().union(*(self._names_in.get((kind, c), ()) for c in admin)))

    def _admin_fallback(self, claim: dict[str, frozenset[str]]) -> list[_Hit]:
        if "community" in claim:
            rows = [i for c in sorted(claim["community"]) for i in self._admin_rows(c)]
            if rows:
                return [_Hit(rows, "社区", _BASE["社区"], "only the community was recognised")]
        streets = claim.get("street") or claim.get("street_implied") or ()
        rows = [i for c in sorted(streets) for i in self._admin_rows(c)]
        if rows:
            return [_Hit(rows, "街道", _BASE["街道"], "only the street was recognised")]
        return []

    def _admin_rows(self, code: str) -> list[int]:
        """The rows of a street or community, in library order."""
        rows = self._rows_by_admin.get(code)
        return rows.tolist() if rows is not None else []

    # ------------------------------------------------------------------ scoring
    def _candidates(self, hit: _Hit, claim: dict[str, frozenset[str]]) -> list[tuple]:
        """One candidate per address for exact-level hits, per grid for area-level hits, as
        ``(confidence, grid code, row or None, members or None)``: :meth:`_decide` makes
        :class:`Candidate` objects only of the few it answers with (a door with hundreds of
        rooms gave hundreds of them per query)."""
        rows = hit.rows
        if hit.level == "门牌" and len(rows) > 1:
            claimed = [i for i in rows if self._consistent(i, claim) == 1.0]
            rows = claimed or rows
        grid = self._grid
        if hit.level == "门牌":
            share = 1.0 / len(rows)
            factor = share if share < 1 else 1
            return [
                (round(hit.base * self._consistent(i, claim) * factor, 4), grid[i], i, None)
                for i in rows
            ]
        out = []
        for code, members in self._grid_groups(hit):
            share = len(members) / len(rows)
            conf = hit.base * share * self._consistent(members[0], claim)
            out.append((round(conf, 4), code, members[0] if len(members) == 1 else None, members))
        return out

    def _grid_groups(self, hit: _Hit) -> list[tuple[str, list[int]]]:
        """The rows of an area-level hit by grid (in order of first row), memoized per index
        key: a road or 小区 of a city holds thousands of addresses, grouped anew per query
        before."""
        found = self._groups.get(hit.key) if hit.key is not None else None
        if found is None:
            by_grid: dict[str, list[int]] = defaultdict(_Rows)
            for i in hit.rows:
                by_grid[self._grid[i]].append(i)
            found = list(by_grid.items())
            if hit.key is not None:
                if len(self._groups) >= 16384:
                    self._groups.clear()
                self._groups[hit.key] = found
        return found

    def _candidate(self, scored: tuple) -> Candidate:
        """The :class:`Candidate` of one entry of :meth:`_candidates`."""
        conf, code, i, members = scored
        if i is not None:
            lon, lat = self._lon.item(i), self._lat.item(i)  # float64 arrays: Python floats
            if members is not None:  # an area lying in this grid with one address
                lon, lat = self._mean_point(members)
            return _candidate(conf, code, lon, lat, int(self._ids[i]), str(self._full[i]))
        lon, lat = self._mean_point(members)
        return _candidate(conf, code, lon, lat, None, None)

    def _mean_point(self, members: list[int]) -> tuple[float, float]:
        """The mean point of an area's rows in one grid (kept with the rows when memoized)."""
        point = getattr(members, "point", None)
        if point is None:
            point = (float(np.mean(self._lon[members])), float(np.mean(self._lat[members])))
            if isinstance(members, _Rows):
                members.point = point
        return point

    def _consistent(self, i: int, claim: dict[str, frozenset[str]]) -> float:
        factor = 1.0
        streets = claim.get("street") or claim.get("street_implied")
        if streets and self._street[i] and self._street[i] not in streets:
            factor *= _STREET_CONFLICT
        communities = claim.get("community")
        if communities and self._community[i] and self._community[i] not in communities:
            factor *= _COMMUNITY_CONFLICT
        return factor

    def _decide(self, text: str, norm: str, claim: dict, hits: list[_Hit]) -> GeocodeResult:
        scored: list[tuple[tuple, _Hit]] = []
        for hit in hits:
            scored += [(c, hit) for c in self._candidates(hit, claim)]
        scored.sort(key=lambda t: (-t[0][0], t[0][1] or ""))
        first, hit = scored[0]
        conf = first[0]
        # a competitor in another grid that is nearly as good makes the answer ambiguous
        rival = next((c for c, _ in scored[1:] if c[1] != first[1]), None)
        if rival is not None and rival[0] >= conf - 0.1:
            conf = min(conf, max(0.0, conf - (rival[0] - (conf - 0.1))))
            conf = min(conf, self.threshold - 0.01)
        shown = min(len(scored), self.max_alternatives)
        status = "matched" if conf >= self.threshold else "ambiguous"
        if status == "ambiguous" and (shown < 2 or hit.level in ("街道",)):
            status = "unmatched"
        # a match answers without alternatives: only its best is made (an area's mean point
        # each, up to four more per fuzzy answer before)
        alternatives = (
            () if status == "matched" else tuple(self._candidate(c) for c, _ in scored[:shown])
        )
        best = alternatives[0] if alternatives else self._candidate(first)
        # the best candidate's row: its own when address ids are unique (they are, in a
        # store), else the row its id names, as before
        i = first[2] if self._unique_ids else self._row_of(best.address_id)
        grids = self._grids_for(best, i) if status == "matched" else {}
        return _result(
            query=text,
            status=status,
            level=hit.level,
            confidence=round(float(conf), 4),
            lon=best.lon,
            lat=best.lat,
            address_id=best.address_id,
            matched_text=best.text,
            grid_code=best.grid_code if status == "matched" else None,
            grids=grids,
            community_code=self._community[i] if i is not None else _only(claim.get("community")),
            street_code=self._street[i] if i is not None else _only(claim.get("street")),
            alternatives=alternatives if status != "matched" else (),
            reason=hit.reason or None if status == "matched" else (hit.reason or "low confidence"),
            normalized=norm,
        )

    def _row_of(self, address_id: int | None) -> int | None:
        if address_id is None:
            return None
        if not hasattr(self, "_id_order"):
            # sorted ids and their rows (the last row of a repeated id, as a dict by id kept):
            # a dict of a city's 1.2 M ids held ~110 MB of int objects and slots
            order = np.argsort(self._ids, kind="stable")
            self._id_order = (np.asarray(self._ids)[order], order.astype(np.int64))
        ids, rows = self._id_order
        at = int(np.searchsorted(ids, int(address_id), side="right")) - 1
        return int(rows[at]) if at >= 0 and ids[at] == int(address_id) else None

    def _grids_for(self, best: Candidate, i: int | None) -> dict[str, str | None]:
        """Every layer's grid of a matched answer (row ``i``, or its point): only a match
        carries them, so an ambiguous area answer locates no point."""
        if self._row_grids is not None and i is not None:
            grids = dict(self._row_grids[i])
        elif self._locate_one is not None:
            grids = dict(self._locate_one(best.lon, best.lat))
        else:
            grids = {}
        grids[UNIFIED] = best.grid_code  # the library's assignment is authoritative
        return grids


def _memoized_match(gazetteer: Gazetteer | None) -> Callable[[str], AdminMatch] | None:
    """``gazetteer.match`` memoized: the admin prefix of a query depends on its text up to the
    numbers (and a few characters of look-ahead, whose digits :meth:`Gazetteer.match_key` writes
    as 0), so a batch pays it once per road or 小区 (the digits' values made nearly every noisy
    query a new key: ~70-100 µs each on a city's queries); and a match is kept under the part of
    the text it read (:class:`AdminMemo`), so a misspelled road after a known prefix does not
    pay it again. Invalidated with the geocoder (a new gazetteer builds a new geocoder)."""
    return AdminMemo(gazetteer) if gazetteer is not None else None


@functools.lru_cache(maxsize=4096)
def _numbers_in(text: str) -> dict[str, str]:
    """The door, building, unit, room and group numbers of a text (read-only: memoized, as the
    fuzzy step tries up to eight names with the same numbers)."""
    out = {}
    for key, pattern in _NUMBERS.items():
        m = pattern.search(text)
        if m:
            out[key] = m.group(1).lstrip("0") or "0"
    return out


def _interned(values: Iterable) -> list:
    """The values as a list in which equal values are one object: a city's 1.2 M rows name a
    few thousand grids, streets and communities, each text kept once, not once per row."""
    pool: dict = {}
    return [pool.setdefault(v, v) for v in values]


def _shared_rows(layers: list[str], columns: list[list]) -> list[dict[str, str | None]]:
    """Each row's ``{layer: grid}``, one dict per distinct combination of grids shared by its
    rows (read-only: callers copy it): the points of a grid mostly share every layer's grid,
    and a dict per point of a city was ~200 MB."""
    shared: dict[tuple, dict[str, str | None]] = {}
    rows = []
    for values in zip(*columns, strict=True):
        row = shared.get(values)
        if row is None:
            row = shared[values] = dict(zip(layers, values, strict=True))
        rows.append(row)
    return rows


def _only(codes: frozenset[str] | None) -> str | None:
    return next(iter(codes)) if codes and len(codes) == 1 else None


def _col(frame: pd.DataFrame, name: str) -> list:
    if name not in frame.columns:
        return [None] * len(frame)
    values = frame[name].astype(object).where(frame[name].notna(), None).tolist()
    return [None if v is None else str(v) for v in values]


def _norm(value: str | None) -> str | None:
    """Normalize a component value so library and query agree (三组 → 3, 0301 → 301)."""
    if value is None or value == "":
        return None
    text = normalize_name(value)
    if all(ch in CHINESE_DIGITS or ch in "十百千" for ch in text):
        text = chinese_to_arabic(text)
    if text.isdigit():
        return text.lstrip("0") or "0"
    m = re.fullmatch(r"(\d+)(?:号|栋|单元|室|组)", text)
    if m:
        return m.group(1).lstrip("0") or "0"
    return text
