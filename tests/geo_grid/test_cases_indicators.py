"""红绿指标 on hand-built cases: each rate's numerator and denominator, and the colours."""

from __future__ import annotations

import pandas as pd
import pytest

from geo_grid.cases.indicators import Thresholds, colour_of, indicators, inherit_colours
from geo_grid.errors import BadInput

T = pd.Timestamp("2026-05-10 09:00", tz="UTC")
START, END = pd.Timestamp("2026-05-01", tz="UTC"), pd.Timestamp("2026-06-01", tz="UTC")
h = pd.Timedelta(hours=1)


def cases() -> pd.DataFrame:
    rows = [
        # grid G1: 4 due; 2 on time, 1 late, 1 open; one reopened; one extended
        dict(grid_code="G1", received_at=T, due_at=T + 48 * h, closed_at=T + 10 * h, reopened=1,
             responded_at=T + h, rated_at=T + 20 * h, resolved=True, satisfied=True),
        dict(grid_code="G1", received_at=T, due_at=T + 48 * h, closed_at=T + 20 * h,
             responded_at=T + 3 * h, rated_at=T + 30 * h, resolved=True, satisfied=False),
        dict(grid_code="G1", received_at=T, due_at=T + 48 * h, closed_at=T + 60 * h, extended=True),
        dict(grid_code="G1", received_at=T, due_at=T + 48 * h),
        # grid G2: all good
        dict(grid_code="G2", received_at=T, due_at=T + 48 * h, closed_at=T + 5 * h,
             responded_at=T + h, rated_at=T + 6 * h, resolved=True, satisfied=True),
        # received before the period, due inside: counts as due, not as received
        dict(grid_code="G2", received_at=START - 10 * h, due_at=START + 38 * h,
             closed_at=START + 1 * h, responded_at=START - 9 * h),
        # due after the period: received only
        dict(grid_code="G2", received_at=END - h, due_at=END + 47 * h),
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_grid_rates_count_what_the_definitions_say():
    table = indicators(cases(), "grid", START, END, Thresholds(min_cases=1)).set_index("code")
    g1, g2 = table.loc["G1"], table.loc["G2"]
    assert (g1["received"], g1["due"], g1["closed"], g1["closed_on_time"]) == (4, 4, 3, 2)
    assert g1["closure_rate"] == 0.75 and g1["ontime_rate"] == 0.5
    assert g1["rework_rate"] == round(1 / 3, 4) and g1["extension_rate"] == 0.25
    assert g1["overdue"] == 2  # one closed late, one still open
    assert g1["response_rate"] == 0.25  # one contacted within 2 h of four received
    assert g1["solve_rate"] == 1.0 and g1["satisfaction"] == 0.5
    assert g1["mean_hours"] == pytest.approx((10 + 20 + 60) / 3, abs=0.01)
    assert g1["colour"] == "red"
    assert (g2["received"], g2["due"], g2["closed"]) == (2, 2, 2)
    assert g2["ontime_rate"] == 1.0 and g2["response_rate"] == 0.5 and g2["colour"] == "red"


def test_colours_follow_the_configured_thresholds():
    loose = Thresholds.from_config({"ontime_rate": [0.4, 0.3], "closure_rate": [0.7, 0.5],
                                    "rework_rate": [0.5, 0.6], "extension_rate": [0.5, 0.6],
                                    "response_rate": [0.2, 0.1], "satisfaction": [0.5, 0.4],
                                    "min_cases": 1})  # fmt: skip
    g1 = indicators(cases(), "grid", START, END, loose).set_index("code").loc["G1"]
    assert g1["colour"] == "green"
    assert colour_of("ontime_rate", 0.85, Thresholds()) == "yellow"
    assert colour_of("rework_rate", 0.04, Thresholds()) == "green"
    assert colour_of("ontime_rate", None, Thresholds()) is None
    with pytest.raises(BadInput):
        Thresholds.from_config({"ontime_rate": [0.5, 0.9]})  # green laxer than yellow
    with pytest.raises(BadInput):
        Thresholds.from_config({"happiness": [1, 0]})


def test_small_samples_are_not_coloured():
    """Four due cases are too few under the default (5): rates reported, no colour."""
    g1 = indicators(cases(), "grid", START, END).set_index("code").loc["G1"]
    assert g1["ontime_rate"] == 0.5 and g1["ontime_rate_colour"] is None
    assert g1["colour"] is None
    strict = Thresholds.from_config({"min_cases": 4})
    assert (
        indicators(cases(), "grid", START, END, strict).set_index("code").loc["G1"]["colour"]
        == "red"
    )
    with pytest.raises(BadInput):
        Thresholds.from_config({"min_cases": 0})


def test_levels_and_bad_periods():
    frame = cases().assign(department=["城管"] * 4 + ["应急"] * 3, street_code="S1")
    assert set(indicators(frame, "department", START, END)["code"]) == {"城管", "应急"}
    assert indicators(frame, "street", START, END)["received"].tolist() == [6]
    with pytest.raises(BadInput, match="level"):
        indicators(frame, "planet", START, END)
    with pytest.raises(BadInput, match="before"):
        indicators(frame, "grid", END, START)


def test_a_rejected_case_counts_as_received_and_in_no_rate():
    """A duplicate rejected (不予受理) is nobody's work to close: before, it stayed "due and open"
    for ever and held every grid's 结案率 under 100 %."""
    frame = pd.concat(
        [cases(), pd.DataFrame([dict(grid_code="G2", received_at=T, due_at=T + 48 * h,
                                     status="rejected")])],
        ignore_index=True,
    )  # fmt: skip
    g2 = indicators(frame, "grid", START, END, Thresholds(min_cases=1)).set_index("code").loc["G2"]
    assert (g2["received"], g2["accepted"], g2["due"], g2["overdue"]) == (3, 2, 2, 0)
    assert g2["closure_rate"] == 1.0 and g2["response_rate"] == 0.5


def test_reasons_name_the_rates_that_gave_the_colour():
    table = indicators(cases(), "grid", START, END, Thresholds(min_cases=1)).set_index("code")
    g1, g2 = table.loc["G1"], table.loc["G2"]
    assert g1["colour"] == "red" and g1["colour_source"] == "own"
    # G1: 结案率 0.75, 按期 0.5, 返工 1/3, 延期 0.25, 响应 0.25, 满意 0.5 are red; 解决率 1.0 green
    assert g1["reasons"] == ["closure_rate", "ontime_rate", "rework_rate", "extension_rate",
                             "response_rate", "satisfaction"]  # fmt: skip
    assert g2["reasons"] == ["response_rate"]  # 0.5 contacted in time; all else green
    quiet = indicators(cases(), "grid", START, END).set_index("code").loc["G2"]
    assert quiet["colour"] is None and quiet["reasons"] == [] and quiet["colour_source"] is None


def test_a_grid_too_thin_to_judge_takes_its_community_colour():
    """G1 and G2 (4 and 2 due) are under min_cases=5 alone; their community C (6 due) is not."""
    frame = cases().assign(community_code="C")
    grids = indicators(frame, "grid", START, END)
    parents = indicators(frame, "community", START, END)
    assert grids["colour"].isna().all()  # before: every grid grey
    rows = inherit_colours(grids, parents, {"G1": "C", "G2": "C", "G9": "C", "G8": "D"})
    rows = rows.set_index("code")
    community = parents.set_index("code").loc["C"]
    for code in ("G1", "G2", "G9"):  # G9: no case at all in the period
        assert rows.loc[code, "colour"] == community["colour"] == "red"
        assert rows.loc[code, "colour_source"] == "community"
        assert rows.loc[code, "reasons"] == community["reasons"]
    assert rows.loc["G9", "due"] == 0 and rows.loc["G1", "due"] == 4  # its own counts kept
    assert rows.loc["G8", "colour"] is None and rows.loc["G8", "colour_source"] is None
    # a grid with enough cases keeps its own colour
    own = inherit_colours(indicators(frame, "grid", START, END, Thresholds(min_cases=1)),
                          parents, {"G2": "C"})  # fmt: skip
    assert own.loc[0, "colour_source"] == "own" and own.loc[0, "reasons"] == ["response_rate"]


def test_a_grid_of_a_thin_community_takes_its_streets_colour():
    """Communities C1 and C2 have 4 and 2 due cases, under min_cases=5; their street S has 6.
    C3 (another street) has 5 on time, so the community table mixes colours and none (which
    pandas holds as NaN: before, a NaN colour was taken for a colour and the grid stayed grey)."""
    good = [
        dict(
            grid_code="G3",
            community_code="C3",
            street_code="S3",
            received_at=T,
            due_at=T + 48 * h,
            closed_at=T + h,
            responded_at=T + h,
            status="closed",
        )
    ] * 5
    frame = pd.concat([cases().assign(community_code=["C1"] * 4 + ["C2"] * 3, street_code="S"),
                       pd.DataFrame(good)], ignore_index=True)  # fmt: skip
    grids = indicators(frame, "grid", START, END)
    communities = indicators(frame, "community", START, END).set_index("code")
    streets = indicators(frame, "street", START, END)
    assert communities.loc["C3", "colour"] == "green" and pd.isna(communities.loc["C1", "colour"])
    assert streets.set_index("code").loc["S", "colour"] == "red"
    rows = inherit_colours(grids, communities.reset_index(), {"G1": "C1", "G2": "C2", "G3": "C3"},
                           streets, {"C1": "S", "C2": "S", "C3": "S3"}).set_index("code")  # fmt: skip
    assert rows["colour"].tolist() == ["red", "red", "green"]
    assert rows["colour_source"].tolist() == ["street", "street", "own"]
    s = streets.set_index("code").loc["S"]
    assert rows.loc["G1", "reason_values"] == {r: s[r] for r in s["reasons"]}
    # without the streets: grey, as before
    alone = inherit_colours(grids, communities.reset_index(), {"G1": "C1"})
    assert alone.loc[0, "colour"] is None and alone.loc[0, "colour_source"] is None
