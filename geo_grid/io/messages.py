"""How :mod:`geo_grid.io` names a file, a feature and a CRS in its one-line error messages.

Every :class:`~geo_grid.errors.BadInput` the package raises names the file as the user knows it
(``Source.label``: an upload's own file name, never the server's temporary copy), and where
relevant the feature by its index in file order, its CSV row and its code. The readers and the
writer share these helpers so the same thing is always said the same way.

>>> one_line("cannot open\\n   x.gpkg")
'cannot open x.gpkg'
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyogrio.errors
from pyproj import CRS

if TYPE_CHECKING:
    from geo_grid.io.source import Source

__all__ = ["MIB", "PYOGRIO_ERRORS", "crs_label", "mib", "one_line", "reason", "where"]

MIB = 1024 * 1024

#: What pyogrio raises for a file GDAL cannot read or write: turned into BadInput, never a 500.
PYOGRIO_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FieldError,
    pyogrio.errors.FeatureError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.CRSError,
)


def one_line(text: object) -> str:
    """Text (an exception's, a cell's) on one line: runs of whitespace become one space."""
    return " ".join(str(text).split())


def mib(n: float) -> str:
    """A byte count as people read file sizes: ``52.4 MiB``."""
    return f"{n / MIB:.1f} MiB"


def reason(exc: Exception, source: Source) -> str:
    """A reader's error in one line, naming the file as the user knows it (``source.label``):
    GDAL quotes the path it opened, a temporary copy or extraction the user never saw."""
    text = one_line(exc)
    if source.label != str(source.path):
        text = text.replace(str(source.path), source.label)
    return text


def where(index: int, code: str | None, source: Source) -> str:
    """How a message names one feature: index in file order, CSV row, code."""
    parts = [f"CSV row {index + 2}"] if source.fmt == "csv" else []
    if code is not None:
        parts.append(f"code {code!r}")
    return f"feature {index}" + (f" ({', '.join(parts)})" if parts else "")


def crs_label(crs: CRS | None) -> str | None:
    """``EPSG:n`` when the CRS has a code, else its name (None for no CRS).

    >>> crs_label(CRS.from_epsg(4547)), crs_label(None)
    ('EPSG:4547', None)
    """
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name
