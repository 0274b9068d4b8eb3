"""Seeded demo districts: real outlines, streets and communities; synthetic everything else.

>>> from geo_grid.demo import generate_demo, load_district  # doctest: +SKIP
>>> qixia = generate_demo()  # 栖霞区, the demo of `make demo`  # doctest: +SKIP
>>> gusu = generate_demo(load_district("320508"), seed=7)  # doctest: +SKIP
"""

from geo_grid.demo.districts import (
    DEFAULT_DISTRICT,
    DEMO_LEADER_STREET,
    city_districts,
    known_districts,
    load_district,
)
from geo_grid.demo.generate import (
    DEFAULT_SEED,
    CityPart,
    DemoDistrict,
    generate_city,
    generate_demo,
    ground_truth_name,
    iter_city,
    write_ground_truth,
)
from geo_grid.demo.spec import Community, DistrictSpec, Street, district_spec

__all__ = [
    "DEFAULT_DISTRICT",
    "DEFAULT_SEED",
    "DEMO_LEADER_STREET",
    "CityPart",
    "Community",
    "DemoDistrict",
    "DistrictSpec",
    "Street",
    "city_districts",
    "district_spec",
    "generate_city",
    "generate_demo",
    "ground_truth_name",
    "iter_city",
    "known_districts",
    "load_district",
    "write_ground_truth",
]
