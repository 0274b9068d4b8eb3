"""Where the tests' synthetic fixtures lie: corners of the demo district, Nanjing Qixia 栖霞区.

The fixtures of :mod:`geo_grid.testing` hold no place of their own (the library names none); the
tests give them this one, real streets and communities included, because several tests check the
sample library against the national gazetteer (尧化街道 is 320113001 there).
"""

from __future__ import annotations

from geo_grid.address import DistrictNames
from geo_grid.testing import MetricFrame, SamplePlace

__all__ = ["QIXIA_CORNER", "QIXIA_FRAME", "QIXIA_NAMES"]

#: How the sample library's district is written (江苏省南京市栖霞区, 南京栖霞, ...).
QIXIA_NAMES = DistrictNames("320113", "栖霞区", "南京市", "江苏省")

#: The sample address library's place: six 0.01° cells east of 尧化门, two real streets and three
#: real communities of Qixia (with their division codes), roads and 小区 named as there.
QIXIA_CORNER = SamplePlace(
    district=QIXIA_NAMES,
    origin=(118.90, 32.10),
    streets=(("320113001", "尧化街道"), ("320113010", "仙林街道")),
    communities=(
        ("320113001007", "尧新社区居委会", "尧新社区", "320113001"),
        ("320113001019", "尧林仙居社区居委会", "尧林仙居社区", "320113001"),
        ("320113010020", "石埠桥村村民委员会", "石埠桥村", "320113010"),
    ),
    roads=("尧佳路", "尧新大道", "尧林路", "文苑路"),
    xiaoqu=("尧林仙居", "燕语华庭"),
)

#: The synthetic coverage layers' frame: EPSG:4549 metres in eastern Nanjing.
QIXIA_FRAME = MetricFrame("EPSG:4549", (380_000.0, 3_550_000.0))
