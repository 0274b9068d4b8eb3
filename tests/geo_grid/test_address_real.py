"""The parser on real addresses typed by people (not our generator), per field.

The set is hand-labelled from other parsers' public test cases and annotation examples
(``data/address_parsing/``, sources in ``data/README.md``). About 40 % of it (``test``, chosen by a
hash of the text) was never looked at while the parser was tuned; ``bench/address_parsing.py``
prints the full table. A neural parser reaches about 90 % F1 on such addresses (Li & Lu 2019).
"""

from __future__ import annotations

import pytest

from geo_grid.address import parse
from geo_grid.testing import district_gazetteer, field_scores, labelled_addresses


@pytest.fixture(scope="module")
def scored():
    rows = labelled_addresses()
    gazetteer = district_gazetteer("320113")
    predicted = [parse(text, gazetteer=gazetteer).to_dict() for text in rows["text"]]
    return rows.assign(predicted=predicted)


def _scores(rows):
    return field_scores(rows["labels"].tolist(), rows["predicted"].tolist())


def test_the_set_covers_every_field_and_both_splits(scored):
    support = _scores(scored)["support"]
    assert len(scored) >= 200 and (support.drop("ALL") >= 8).all()
    assert 0.3 < (scored["split"] == "test").mean() < 0.5


@pytest.mark.parametrize(("split", "floor"), [("dev", 0.95), ("test", 0.92)])
def test_overall_f1(scored, split, floor):
    f1 = _scores(scored[scored["split"] == split]).loc["ALL", "f1"]
    assert f1 >= floor, f"{split}: micro F1 {f1:.3f} < {floor}"


# per field on the whole set: admin levels, numbers and places each carry their weight
FLOORS = {
    "province": 0.97, "city": 0.95, "district": 0.93, "street": 0.92, "community": 0.75,
    "devzone": 0.78, "road": 0.88, "door_no": 0.97, "village": 0.95, "group_no": 0.95,
    "xiaoqu": 0.9, "poi": 0.75, "building": 0.95, "unit": 0.95, "floor": 0.95, "room": 0.95,
}  # fmt: skip


@pytest.mark.parametrize(("field", "floor"), sorted(FLOORS.items()))
def test_field_f1(scored, field, floor):
    f1 = _scores(scored).loc[field, "f1"]
    assert f1 >= floor, f"{field}: F1 {f1:.3f} < {floor}"
