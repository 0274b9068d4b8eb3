"""Coverage checks and fixes: prove a layer covers its district "纵向到底、横向到边".

A grid layer is clean when every grid is a valid, non-empty polygon with a unique code, no two grids
overlap, the union has no holes (inside the district or inside a parent community), and every grid
lies inside its parent community, which its own grids cover completely. GEOS's CoverageValidator
only says *which edges* are wrong; :func:`check_coverage` returns the defect polygons with their
area, width, grid codes and parent, and :func:`fix_coverage` returns a repaired layer plus a log.

How the check stays near bare GEOS: ``shapely.coverage_invalid_edges`` marks every grid whose
edges do not match its neighbours; the check finds the same grids (and perhaps a few more) from
hashed segment keys without running it (:mod:`.suspects`, :mod:`.layer`), and everything after
works on those flagged grids and their open segments, not on all pairs or all grids:

* overlaps (:mod:`.overlaps`): only pairs where an invalid edge enters the other grid, where two
  grids draw a segment the same way, or where a flagged grid holds another are intersected;
* gaps (:mod:`.gaps`): the clean grids' union comes from their free segments (:mod:`.edges`,
  hashed keys, no overlay); a hole of it is a gap as it is, or loses the few flagged grids inside
  it; the grids bordering each gap are found by the same keys (:mod:`.borders`);
* nesting (:mod:`.nesting`): a grid crosses a parent's boundary only where it overlaps a grid
  drawing that boundary or meets a boundary segment no grid draws; every other grid lies in one
  parent, found by one interior point per group of such grids; only the suspects are overlaid.

Nothing is ever compared all-against-all. Areas and widths are measured in ``local_crs``: the
district's Gauss-Krüger zone, or by default (``"auto"``) the zone of each defect's own central
longitude (:func:`geo_grid.crs.to_local`), named in the report's ``crs`` column.

Widths are the short side of the rectangle with the same area and perimeter
(:func:`.polygons.widths`): exact for strips, slivers and rings, low on compact shapes. Pieces
smaller than ``noise_area_m2`` *or* narrower than ``noise_width_m`` (5 cm) are floating-point or
coordinate-rounding noise and are never reported.

The fixer (:mod:`.fix`) nodes all boundaries into faces and gives each face one owner
(:mod:`.owners`). The faces kernel (:mod:`.faces`: ``node_faces``, ``face_adjacency``,
``dissolve``) is shared with the 多网合一 merge (:mod:`geo_grid.merge`).

Modules. Issue 13 asked for ``check``, ``fix``, ``faces`` and ``nesting``; those four are here,
and the check's other steps have a module each rather than living inside ``check`` (which would
be ~1,700 lines): each step is a separate algorithm with its own invariant and doctest, and the
fixer and the merge reuse several of them (``faces``, ``parents``, ``polygons``, ``validity``).

* ``check``, ``fix``: the two public functions, each read as checks → compute → assemble;
* ``report``: the defect kinds, one row per defect, :class:`CoverageReport`;
* ``validity``: input checks, per-grid checks and the repair of an invalid grid;
* ``layer``: the arrays every later step shares (segments, STRtree, flagged grids);
* ``suspects``: which grids segment keys cannot prove clean, and their open segments;
* ``edges``: boundary segments as hashed keys (free, shared, same-side) and the walk of rings;
* ``overlaps``, ``gaps``, ``borders`` (which grids border a gap), ``nesting``: the check's steps;
* ``parents``: the parent layer and which parent each grid names (check and fix);
* ``faces``: the faces kernel (noding, adjacency, dissolve), shared with :mod:`geo_grid.merge`;
* ``owners``: the fixer's rules for which grid owns each face (not :mod:`geo_grid.labels`, the
  Chinese labels people read);
* ``polygons``: polygonal parts, widths and a difference checked for GEOS's silent failures;
  ``progress``: the progress callback.

Examples
--------
>>> import geopandas as gpd, shapely
>>> x0, y0 = 500_000, 3_380_000   # metres in EPSG:4547 (zone 114°E), in Wuhan
>>> grids = gpd.GeoDataFrame(
...     {"code": ["A", "B"]},
...     geometry=[shapely.box(x0, y0, x0 + 110, y0 + 100), shapely.box(x0 + 100, y0, x0 + 200, y0 + 100)],
...     crs="EPSG:4547")
>>> report = check_coverage(grids)
>>> report.valid, report.summary()["overlap"]
(False, 1)
>>> row = report.defects.iloc[0]
>>> row.kind, row.ids, round(row.area_m2), round(row.width_m)
('overlap', ['A', 'B'], 1000, 10)
>>> fixed, log = fix_coverage(grids)
>>> check_coverage(fixed).valid, sorted(fixed.code)
(True, ['A', 'B'])
"""

from geo_grid.coverage.check import check_coverage
from geo_grid.coverage.faces import dissolve, face_adjacency, node_faces
from geo_grid.coverage.fix import fix_coverage
from geo_grid.coverage.polygons import as_multipolygon, polygonal
from geo_grid.coverage.progress import Progress
from geo_grid.coverage.report import DEFECT_COLUMNS, DEFECT_KINDS, CoverageReport, sort_defects
from geo_grid.coverage.validity import repair_polygon, validate_layer

__all__ = [
    "DEFECT_COLUMNS",
    "DEFECT_KINDS",
    "CoverageReport",
    "Progress",
    "as_multipolygon",
    "check_coverage",
    "dissolve",
    "face_adjacency",
    "fix_coverage",
    "node_faces",
    "polygonal",
    "repair_polygon",
    "sort_defects",
    "validate_layer",
]
