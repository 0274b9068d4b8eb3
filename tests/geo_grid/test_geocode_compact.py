"""The geocoder's compact indexes (issue 16's memory) answer as the dicts they replaced."""

from __future__ import annotations

import pickle
import random
from collections import defaultdict

from geo_grid.address._components import CodedColumn, ComponentIndex
from geo_grid.address._texts import TextColumn, TextIndex, TextRows

CHAINS = {"road": ("road", "door_no"), "xq": ("xiaoqu", "building", "unit", "room")}


def _rows(n: int, seed: int) -> dict[str, list[str | None]]:
    rng = random.Random(seed)

    def pick(values: list[str], none: float) -> list[str | None]:
        return [None if rng.random() < none else rng.choice(values) for _ in range(n)]

    return {
        "road": pick(["尧佳路", "尧佳大路", "学衡路", "仙林大道"], 0.4),
        "door_no": pick([str(i) for i in range(1, 30)], 0.3),
        "xiaoqu": pick(["和平苑", "华水苑", "华水名苑"], 0.5),
        "building": pick([str(i) for i in range(1, 6)], 0.2),
        "unit": pick(["1", "2"], 0.2),
        "room": pick(["101", "102", "201", "1502"], 0.2),
    }


def _dict_index(rows: dict[str, list[str | None]]) -> dict[tuple, list[int]]:
    """The dict of tuples the geocoder built before."""
    index: dict[tuple, list[int]] = defaultdict(list)
    for kind, cols in CHAINS.items():
        for i in range(len(rows["road"])):
            key: tuple = (kind,)
            for col in cols:
                if not rows[col][i]:
                    break
                key += (rows[col][i],)
                index[key].append(i)
    return index


def test_component_index_equals_the_dict_it_replaced():
    rows = _rows(300, 1)
    columns = {k: CodedColumn(v) for k, v in rows.items()}
    index = ComponentIndex(CHAINS, columns)
    reference = _dict_index(rows)
    for key, expected in reference.items():
        assert key in index and index[key] == expected and index.get(key) == expected
    assert ("road", "月球路") not in index and index[("road", "月球路")] == []
    assert ("road", "尧佳路", "99") not in index and index.get(("xq",)) is None
    # a value that exists, in a combination no row has
    missing = next(
        ("xq", x, b, u, r)
        for x in ("和平苑", "华水苑")
        for b in "12345"
        for u in "12"
        for r in ("101", "1502")
        if ("xq", x, b, u, r) not in reference
    )
    assert missing not in index
    loaded = pickle.loads(pickle.dumps(index))
    assert all(loaded[key] == expected for key, expected in reference.items())
    for col, values in rows.items():
        assert list(columns[col]) == values
        assert [columns[col][i] for i in range(len(values))] == values


def test_text_index_and_rows_equal_dicts_and_survive_pickling():
    rng = random.Random(2)
    keys = [f"{rng.choice('甲乙丙丁')}路{rng.randint(1, 400)}号" for _ in range(2000)]
    index = TextIndex(keys)
    expected: dict[str, list[int]] = defaultdict(list)
    for i, key in enumerate(keys):
        expected[key].append(i)
    assert len(index) == len(expected)
    for key, rows in expected.items():
        assert index.get(key) == rows and key in index
        assert all(index.key_of(i) == key for i in rows)
    assert index.get("月球路1号") is None and "" not in index
    unique = [rows[0] for rows in expected.values() if len(rows) == 1]
    assert index.unique_rows().tolist() == sorted(unique)

    column = TextColumn(keys)
    assert list(column) == keys and [column[i] for i in range(len(keys))] == keys
    some = TextRows(column, unique)
    assert len(some) == len(unique)
    assert all(some.get(keys[i]) == i for i in unique)
    shared = next(k for k, rows in expected.items() if len(rows) > 1)
    assert some.get(shared) is None and shared not in some

    # hashes of str differ between processes: they are computed again on load
    loaded_index, loaded_rows = pickle.loads(pickle.dumps((index, some)))
    assert all(loaded_index.get(k) == rows for k, rows in expected.items())
    assert all(loaded_rows.get(keys[i]) == i for i in unique)


def test_text_column_of_empty_and_wide_texts():
    texts = ["", "甲", "𠀀路1号", ""]  # a character outside the BMP widens the joined text
    column = TextColumn(texts)
    assert list(column) == texts and len(column) == 4
    assert TextIndex(texts).get("") == [0, 3]
    assert TextColumn([]).hashes(TextIndex([])._positions).tolist() == []
