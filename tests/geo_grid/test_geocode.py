"""The geocoder cascade, its honesty below the threshold, and accuracy floors on noisy queries."""

import copy
import importlib.util
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sample_places import QIXIA_CORNER, QIXIA_NAMES

from geo_grid.address import Geocoder
from geo_grid.errors import BadInput
from geo_grid.locate import LocateIndex
from geo_grid.testing import sample_layers, sample_library

_BENCH = Path(__file__).resolve().parents[2] / "bench" / "noisy_queries.py"


@pytest.fixture(scope="module")
def world():
    lib, streets, communities = sample_library(QIXIA_CORNER)
    layers, comm_gdf, street_gdf = sample_layers(QIXIA_CORNER)
    locator = LocateIndex(layers, comm_gdf, street_gdf)
    geocoder = Geocoder(lib, streets, communities, locate=locator, district=QIXIA_NAMES)
    return lib, streets, communities, locator, geocoder


def _id(lib, local):
    return int(lib.loc[lib["local_text"] == local, "address_id"].iloc[0])


def test_exact_and_component_matches(world):
    lib, *_, g = world
    r = g.geocode("江苏省南京市栖霞区尧化街道尧林仙居社区尧林仙居3栋2单元301室")
    assert (r.status, r.level, r.address_id) == (
        "matched",
        "门牌",
        _id(lib, "尧林仙居3栋2单元301室"),
    )
    assert r.confidence >= 0.95 and set(r.grids) >= {"unified", "urban_mgmt", "ecology"}
    r = g.geocode("尧林仙居三幢二单元三零一房 门口 垃圾满溢")
    assert r.address_id == _id(lib, "尧林仙居3栋2单元301室")
    r = g.geocode("石埠桥村村民委员会 三组十五号")
    assert (r.status, r.address_id) == ("matched", _id(lib, "石埠桥村三组15号"))


def test_fuzzy_name_is_matched_but_never_highly_confident(world):
    lib, *_, g = world
    r = g.geocode("姚佳路7号")
    assert r.status == "matched" and r.address_id == _id(lib, "尧佳路7号")
    assert r.confidence < 0.9


def test_coarse_levels(world):
    *_, g = world
    building = g.geocode("尧林仙居2栋")
    assert (building.status, building.level) == ("matched", "楼栋")
    # the 小区 straddles two grids half and half: not a match, two alternatives
    xq = g.geocode("尧林仙居")
    assert xq.status == "ambiguous" and xq.grid_code is None
    assert {a.grid_code for a in xq.alternatives} == {"320113001019-01", "320113001019-02"}
    # a door missing from the library between two doors of the same grid: road segment
    seg = g.geocode("尧新大道9号")
    assert seg.level == "道路"


def test_unmatched_says_why(world):
    *_, g = world
    for text in ("", "月球路1号", "随便说点什么"):
        r = g.geocode(text)
        assert r.status == "unmatched" and r.reason and r.grid_code is None


def test_admin_conflict_lowers_confidence(world):
    *_, g = world
    right = g.geocode("尧化街道尧佳路12号")
    wrong = g.geocode("仙林街道尧佳路12号")
    assert right.address_id == wrong.address_id
    assert wrong.confidence < right.confidence


def test_geocode_many_equals_geocode(world):
    *_, g = world
    texts = ["尧佳路3号", "尧佳路3号", "燕语华庭2栋1单元201室", "月球路1号"]
    assert g.geocode_many(texts) == [g.geocode(t) for t in texts]
    # geocoded in sorted order (neighbours share memos), answered in the order given
    mixed = ["月球路1号", "尧佳路3号", "", "燕语华庭2栋1单元201室", "尧佳路3号", "月球路1号"]
    answers = g.geocode_many(mixed)
    assert [a.query for a in answers] == mixed
    assert answers == [g.geocode(t) for t in mixed]


def test_reverse(world):
    lib, *_, g = world
    row = lib.iloc[10]
    r = g.reverse(float(row["lon"]), float(row["lat"]), crs="cgcs2000")
    assert r.address_id == int(row["address_id"]) and r.distance_m < 1
    assert r.grid_code == row["grid_code"]
    assert g.reverse(120.0, 30.0).address_id is None


def test_noisy_query_accuracy_floors(world):
    lib, streets, communities, locator, g = world
    spec = importlib.util.spec_from_file_location("noisy_queries", _BENCH)
    nq = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nq)
    queries = nq.make_queries(lib, streets, communities, n=1000, seed=11)
    evaluated = nq.evaluate(g, locator, queries)
    assert evaluated["grid_correct"].mean() >= 0.98
    assert evaluated["wrong_confident"].mean() < 0.005
    assert set(evaluated["kind"]) == set(nq.KINDS)


def _with_sound_alikes():
    """The sample library plus 尧佳花园 and 遥佳花园城, copies of 燕语华庭 in two other grids:
    a caller writing 遥佳花园 names the first by sound (尧 and 遥 are yao) and the second but
    for a character (fuzz.ratio 88.9)."""
    lib, streets, communities = sample_library(QIXIA_CORNER)
    rows = lib[lib["xiaoqu"] == "燕语华庭"]
    copies = []
    for k, (name, grid) in enumerate((("尧佳花园", "A"), ("遥佳花园城", "B"))):
        part = rows.copy()
        part["address_id"] += 10_000 * (k + 1)
        part["xiaoqu"] = name
        for column in ("local_text", "full_text"):
            part[column] = part[column].str.replace("燕语华庭", name)
        part["grid_code"] = grid
        copies.append(part)
    return pd.concat([lib, *copies], ignore_index=True), streets, communities


def test_a_sounded_name_raises_the_cutoff_without_changing_any_answer(monkeypatch):
    """When a name sounds like the query's, names spelled less alike than the band below it
    are not looked for (rapidfuzz's cutoff rises to the band's edge): every answer to names
    with one character replaced by a homophone, dropped, or both, with and without an admin
    prefix, is the one the plain cutoff gives, a name in the band by its spelling included
    (遥佳花园: 尧佳花园 by sound, 遥佳花园城 by spelling, in two grids: ambiguous)."""
    from geo_grid.address import geocode as module

    lib, streets, communities = _with_sound_alikes()
    g = Geocoder(lib, streets, communities, district=QIXIA_NAMES)
    spec = importlib.util.spec_from_file_location("noisy_queries", _BENCH)
    nq = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nq)
    texts = nq.make_queries(lib, streets, communities, 800, 4, ("homophone", "typo"))["query"]
    texts = texts.tolist()
    texts += ["尧化街道" + t for t in texts[:200]] + [t.replace("路", "") for t in texts[:200]]
    texts += ["遥佳花园1栋1单元101室", "南京栖霞遥佳花园2栋", "姚佳花园1栋"]
    raised = [copy.copy(g).geocode(t) for t in texts]
    both = raised[-3]
    assert both.status == "ambiguous" and {a.grid_code for a in both.alternatives} == {"A", "B"}
    monkeypatch.setattr(module, "_SOUNDED_CUTOFF", module._CUTOFF)
    assert [copy.copy(g).geocode(t) for t in texts] == raised


def test_grid_code_is_derived_from_the_locate_index_when_not_given(world):
    lib, streets, communities, locator, g = world
    derived = Geocoder(lib.drop(columns=["grid_code"]), streets, communities, locate=locator)
    for text in ("尧林仙居3栋2单元301室", "石埠桥村三组15号"):
        a, b = g.geocode(text), derived.geocode(text)
        assert (b.status, b.address_id) == (a.status, a.address_id)
        assert b.grid_code == locator.locate(b.lon, b.lat, "cgcs2000").grid_code
    with pytest.raises(BadInput, match="grid_code"):  # without an index it cannot be derived
        Geocoder(lib.drop(columns=["grid_code"]), streets, communities)


def _with_twin():
    """The sample library plus 燕语庭, a 小区 one character short of 燕语华庭, with the same
    numbers in another community and grid."""
    lib, streets, communities = sample_library(QIXIA_CORNER)
    layers, comm_gdf, street_gdf = sample_layers(QIXIA_CORNER)
    twin = lib[lib["xiaoqu"] == "燕语华庭"].copy()
    twin["address_id"] += 10_000
    twin["xiaoqu"] = "燕语庭"
    twin["local_text"] = twin["local_text"].str.replace("燕语华庭", "燕语庭")
    twin["full_text"] = twin["full_text"].str.replace("尧林仙居社区燕语华庭", "石埠桥村燕语庭")
    twin["community_code"], twin["street_code"] = "320113010020", "320113010"
    twin["grid_code"], twin["lon"] = "320113010020-02", twin["lon"] + 0.02
    return pd.concat([lib, twin], ignore_index=True), streets, communities


def test_a_name_one_character_short_of_another_is_not_a_confident_answer():
    """燕语庭 and 燕语华庭 both have 1栋1单元101室: a caller writing 燕语庭 may have dropped 华."""
    lib, streets, communities = _with_twin()
    g = Geocoder(lib, streets, communities, district=QIXIA_NAMES)
    for text in ("燕语庭1栋1单元101室", "南京栖霞燕语庭1栋1单元101室"):
        r = g.geocode(text)
        assert r.status == "ambiguous" and r.confidence < 0.9 and r.grid_code is None, text
        assert {a.grid_code for a in r.alternatives} >= {"320113010020-02", "320113001019-02"}
    # a street and community that only one of them is in decide it
    r = g.geocode("江苏省南京市栖霞区仙林街道石埠桥村燕语庭1栋1单元101室")
    assert r.status == "matched" and r.confidence >= 0.9 and r.grid_code == "320113010020-02"
    # a name with no longer twin is as confident as before
    assert g.geocode("尧林仙居3栋2单元301室").confidence >= 0.9


def test_library_texts_are_answered_from_the_verbatim_index_as_the_cascade_answers():
    """A library text as stored is answered without normalizing it exactly as the cascade
    answers it (a geocoder without that index), a name with a one-character-longer twin
    included: in a library whose texts carry no admin prefix, 燕语庭1栋1单元101室 is its own
    text and still ambiguous with 燕语华庭's."""
    lib, streets, communities = _with_twin()
    bare = lib.assign(full_text=lib["local_text"])
    g = Geocoder(bare, streets, communities, district=QIXIA_NAMES)
    cascade = _cascade_only(g)
    texts = bare["full_text"].tolist()
    assert len(g._verbatim) > len(texts) / 2
    assert g.geocode_many(texts) == cascade.geocode_many(texts)
    assert g.geocode("燕语庭1栋1单元101室").status == "ambiguous"
    assert "燕语庭1栋1单元101室" not in g._twins


def _cascade_only(geocoder: Geocoder) -> Geocoder:
    """The geocoder without its indexes of library texts proven at build: every text goes
    through normalization and the cascade."""
    cascade = copy.copy(geocoder)
    cascade._verbatim, cascade._twins = {}, {}
    return cascade


class _OneLayer:
    """A locate index of one layer: each point's unified grid is ``grid_of(lon)``."""

    layers = ("unified",)

    def __init__(self, grid_of):
        self.grid_of = grid_of

    def locate_many(self, lon, lat, crs):
        return pd.DataFrame({"unified": [self.grid_of(x) for x in lon]})

    def grids_at(self, lon, lat):
        return {"unified": self.grid_of(lon)}


def test_a_twin_proven_for_its_grids_is_proven_again_when_they_change():
    """A library text whose name has a one-character-longer twin (燕语庭, 燕语华庭) is answered
    from the index of proven texts when the cascade answers it so: here, with both in one grid,
    the twin is no rival. When a publish puts them in two grids (``relocated``) the twin is
    one, the text is ambiguous, and the index no longer holds it; an area's rows by grid are
    those of the new grids too."""
    lib, streets, communities = _with_twin()
    bare = lib.assign(full_text=lib["local_text"]).drop(columns=["grid_code"])
    shorter = set(bare.loc[bare["xiaoqu"] == "燕语庭", "lon"])
    text = "燕语庭1栋1单元101室"
    g = Geocoder(bare, streets, communities, locate=_OneLayer(lambda lon: "A"))
    assert text in g._twins
    texts = bare["full_text"].tolist() + ["燕语华庭", "燕语庭"]
    assert g.geocode_many(texts) == _cascade_only(g).geocode_many(texts)
    assert g.geocode(text).status == "matched" and g.geocode("燕语华庭").grid_code == "A"
    moved = g.relocated(_OneLayer(lambda lon: "B" if lon in shorter else "C"))
    assert text not in moved._twins and moved.geocode(text).status == "ambiguous"
    assert moved.geocode_many(texts) == _cascade_only(moved).geocode_many(texts)
    assert moved.geocode("燕语华庭").grid_code == "C"
    assert g.geocode(text).status == "matched" and g.geocode("燕语华庭").grid_code == "A"


def test_admin_prefix_memo_reads_the_digits_after_it_only_as_digits():
    """Admin prefixes are memoized by the query's text with the digits after the first one
    written as 0 (尧佳路12号 and 尧佳路37号 share a key): the answers are those of a geocoder
    matching each query's own text, on library texts with their numbers changed, under every
    prefix a caller writes, and where the gazetteer looks past the first digit (石埠桥村3组, a
    short form before a road)."""
    import numpy as np

    from geo_grid.testing import district_gazetteer

    lib, streets, communities = sample_library(QIXIA_CORNER)
    gazetteer = district_gazetteer(QIXIA_NAMES.code)
    g = Geocoder(lib, streets, communities, district=QIXIA_NAMES, gazetteer=gazetteer)
    literal = copy.copy(gazetteer)
    literal.match_key = lambda text, at: text
    each = copy.copy(g)
    each.gazetteer, each._admin_match = literal, literal.match
    rng = np.random.default_rng(3)
    prefixes = ("", "栖霞区", "南京栖霞", "江苏省南京市栖霞区", "尧化街道", "仙林", "北京朝阳")
    texts = []
    for local in lib["local_text"].tolist():
        renumbered = "".join(str(rng.integers(10)) if c.isdigit() else c for c in local)
        texts += [p + t for p in prefixes for t in (local, renumbered)]
    texts += ["石埠桥村3组15号", "石埠桥村石埠桥村12组3号", "仙林大道12号", "南京仙林大道168号"]
    texts += ["天津河西2号桥街道3号", "天津河西3号桥街道2号", "河北2号桥街道光华路1号"]
    assert [g.geocode(t) for t in texts] == [each.geocode(t) for t in texts]
    info = g._admin_match.cache_info()  # renumbered texts share their keys
    assert info.hits > 2 * info.misses, info


#: characters of addresses, polyphones (路 lu/luo, 长, 重, 行, 乐) and characters that form
#: phrases of pypinyin's table (乐亭 reads lao ting, 长安, 银行, 重庆), a letter, a digit
_SOUND_ALPHABET = "尧姚佳家路街大道花园苑华水名村巷长安重庆银行乐亭着干燕平石埠桥仙林东西南北A1"


@settings(max_examples=400, deadline=None)
@given(text=st.text(alphabet=_SOUND_ALPHABET, min_size=1, max_size=8))
def test_a_sound_read_by_characters_is_lazy_pinyins(text):
    """Names are read character by character unless a phrase of pypinyin's table is in them:
    the same syllables as ``lazy_pinyin`` of the whole name."""
    from pypinyin import lazy_pinyin

    from geo_grid.address._sounds import sound

    assert sound(text) == " ".join(lazy_pinyin(text))


def test_every_name_sounds_as_lazy_pinyin_reads_it(world):
    from pypinyin import lazy_pinyin

    from geo_grid.address._sounds import sound

    *_, g = world
    names = [n for kind in g._names.values() for n in kind]
    assert names and all(sound(n) == " ".join(lazy_pinyin(n)) for n in names)


def test_name_pool_gives_rapidfuzz_every_name_that_can_score():
    """The pruned pool makes ``process.extract`` return the same names, scores and order as the
    whole pool (or the nearby names), and prunes most names a query shares too little with."""
    import numpy as np
    from rapidfuzz import fuzz, process

    from geo_grid.address._names import NamePool

    rng = np.random.default_rng(7)
    alphabet = list("尧佳路新林仙大道学衡花园苑华水名村街巷东西南北金陵石埠桥燕子矶")
    names = {"".join(rng.choice(alphabet, int(rng.integers(2, 7)))) for _ in range(3000)}
    names = sorted(names, key=lambda s: (-len(s), s))
    pool = NamePool({"road": names, "xq": names[:500], "v": names[::7]})
    near = names[::3]
    keep = pool.mask("road", near)
    kept = total = 0
    for _ in range(300):
        q = "".join(rng.choice(alphabet, int(rng.integers(1, 8))))
        for kind, among, whole in (
            ("road", None, names),
            ("road", keep, near),
            ("xq", None, names[:500]),
        ):
            pruned = pool.reachable(q, {kind: among}, 55)[kind]
            assert pruned == [n for n in whole if n in set(pruned)]  # pool order kept
            got = process.extract(q, pruned, scorer=fuzz.ratio, limit=10, score_cutoff=55)
            want = process.extract(q, whole, scorer=fuzz.ratio, limit=10, score_cutoff=55)
            assert [(n, s) for n, s, _ in got] == [(n, s) for n, s, _ in want]
            kept, total = kept + len(pruned), total + len(whole)
        alone = {
            "road": pool.reachable(q, {"road": keep}, 55)["road"],
            "xq": pool.reachable(q, {"xq": None}, 55)["xq"],
            "v": pool.reachable(q, {"v": None}, 55)["v"],
        }
        for asked in (("road", "xq"), ("xq", "road"), ("v", "road"), ("xq", "v")):  # one call
            both = pool.reachable(q, {k: keep if k == "road" else None for k in asked}, 55)
            assert both == {k: alone[k] for k in asked}
    assert kept < 0.5 * total


def test_name_pool_answers_threads_and_its_pickle_alike():
    """Each thread counts in a buffer of its own (the API geocodes in a thread pool): threads
    asking at once get what one thread gets, and so does the pool after a pickle round trip."""
    import pickle
    from concurrent.futures import ThreadPoolExecutor

    import numpy as np

    from geo_grid.address._names import NamePool

    rng = np.random.default_rng(5)
    alphabet = list("尧佳路新林仙大道学衡花园苑华水名村街巷")
    names = sorted({"".join(rng.choice(alphabet, int(rng.integers(2, 7)))) for _ in range(2000)})
    pool = NamePool({"road": names})
    queries = ["".join(rng.choice(alphabet, int(rng.integers(2, 6)))) for _ in range(400)]
    alone = [pool.reachable(q, {"road": None}, 55) for q in queries]
    assert sum(len(a["road"]) for a in alone) > len(queries)
    with ThreadPoolExecutor(4) as threads:
        for _ in range(3):
            assert (
                list(threads.map(lambda q: pool.reachable(q, {"road": None}, 55), queries)) == alone
            )
    copy_ = pickle.loads(pickle.dumps(pool))
    assert [copy_.reachable(q, {"road": None}, 55) for q in queries] == alone


def test_name_pool_counts_the_rarest_characters_names_as_the_whole_pool(monkeypatch):
    """The names found from the postings of the query's rarest characters (counted one by
    one) are the names the count over the whole pool finds, at every cutoff the geocoder asks
    (55, a homophone's 87) and between; a query whose characters no name holds finds none."""
    from collections import Counter

    import numpy as np

    from geo_grid.address import _names
    from geo_grid.address._names import NamePool

    rng = np.random.default_rng(9)
    common, rare = list("路街园苑村大华"), [chr(0x4E00 + i) for i in range(300)]
    names = {
        "".join(rng.choice(rare, int(rng.integers(1, 5)))) + str(rng.choice(common))
        for _ in range(3000)
    }
    names = sorted(names, key=lambda s: (-len(s), s))
    pool = NamePool({"road": names[:2000], "xq": names[2000:]})
    keep = pool.mask("road", names[:2000:3])
    asked = {"road": keep, "xq": None}
    few = 0
    for _ in range(600):
        q = "".join(rng.choice(rare + common + ["月"], int(rng.integers(1, 7))))
        cutoff = float(rng.choice([55.0, 70.0, 86.999999]))
        fast = pool.reachable(q, asked, cutoff)
        with monkeypatch.context() as m:
            m.setattr(_names, "_FEW_SEEDS", -1)  # every query counted over the whole pool
            whole = pool.reachable(q, asked, cutoff)
        assert fast == whole, (q, cutoff)
        assert pool.reachable(q, {"road": keep.tobytes(), "xq": None}, cutoff) == fast  # bytes
        least, _ = pool._plan(cutoff, len(q))
        chars = list(Counter(q).items())
        few += least is not None and pool._seeds(chars, len(q) - least + 1) is not None
    assert few > 100
    assert pool.reachable("月球", asked, 55.0) == {"road": [], "xq": []}


def test_name_scan_finds_what_the_alternation_of_the_names_finds():
    """:class:`NameScan` gives the match of ``re`` over the names longest first: the leftmost
    name, the longest there, on random texts of the names' characters (names inside names,
    names at either end, none at all)."""
    import re

    import numpy as np

    from geo_grid.address._scan import NameScan

    rng = np.random.default_rng(11)
    alphabet = list("尧佳路新林仙大道花园苑华水名村街12号栋")
    names = {"".join(rng.choice(alphabet, int(rng.integers(1, 6)))) for _ in range(400)}
    names = sorted(names, key=lambda s: (-len(s), s))
    pattern = re.compile("|".join(re.escape(n) for n in names))
    scan = NameScan(names)
    found = 0
    for _ in range(3000):
        text = "".join(rng.choice(alphabet + list("月球"), int(rng.integers(0, 12))))
        m = pattern.search(text)
        assert scan.search(text) == ((m.start(), m.end(), m.group(0)) if m else None), text
        found += m is not None
    assert 1000 < found < 3000
    assert NameScan([]).search("尧佳路") is None and not NameScan([""])
