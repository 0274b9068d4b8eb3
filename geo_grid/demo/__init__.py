"""The seeded demo district (栖霞区, Nanjing): real outline and divisions, synthetic everything else.

>>> from geo_grid.demo import generate_demo, write_ground_truth  # doctest: +SKIP
>>> demo = generate_demo(20261125)  # doctest: +SKIP
"""

from geo_grid.demo.generate import DEFAULT_SEED, DemoDistrict, generate_demo, write_ground_truth

__all__ = ["DEFAULT_SEED", "DemoDistrict", "generate_demo", "write_ground_truth"]
