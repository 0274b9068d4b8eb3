"""Where the bytes of a layer file are: the file checked, a zip unpacked, the text encoding settled.

:func:`open_source` turns a path into a :class:`Source` a reader can open: the file exists, is
complete (a shapefile's ``.shx`` and ``.dbf``) and within :class:`ReadLimits`, a zip is unpacked by
:mod:`geo_grid.io.archive` and the text encoding of a ``.dbf`` or a CSV is settled by
:mod:`geo_grid.io.encoding`, all before GDAL or pandas parse a byte.

Zipped shapefiles are extracted to a temporary folder under fixed ASCII names rather than read
through ``/vsizip/``: Windows zip tools store Chinese member names in GBK without the UTF-8 flag, and
how GDAL decodes those names is configuration-dependent; the extracted copy has no such question.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from geo_grid.errors import BadInput
from geo_grid.io.archive import unpack_shapefile
from geo_grid.io.encoding import (
    detect_encoding,
    normalize_encoding,
    repair_dbf_names,
    shapefile_encoding,
)
from geo_grid.io.messages import MIB, mib

__all__ = ["EXTENSIONS", "SUPPORTED_FORMATS", "ReadLimits", "Source", "open_source"]

#: The formats read and written, by key.
SUPPORTED_FORMATS: tuple[str, ...] = ("gpkg", "geojson", "shp", "csv")

#: File extension (lower case) → format key.
EXTENSIONS: dict[str, str] = {
    ".gpkg": "gpkg",
    ".geojson": "geojson",
    ".json": "geojson",
    ".shp": "shp",
    ".zip": "shp",
    ".csv": "csv",
}


@dataclass(frozen=True)
class ReadLimits:
    """How much a layer file may hold before it is refused unread.

    ``max_bytes`` caps the file as given (a shapefile: its ``.shp`` + ``.dbf``; a zip: the zip);
    ``max_features`` the features in the layer; ``max_vertices`` the coordinates of all features
    together and ``max_feature_vertices`` those of one feature (checked as soon as the file is
    parsed, before any geometry work); ``max_unzipped_bytes`` what a zip may unpack to,
    declared and actual; ``max_zip_ratio`` how much one zip member may expand (members under
    1 MiB unpacked are exempt: small files compress oddly); ``max_zip_members`` the entries in a
    zip. The defaults equal the ``upload_*`` settings' defaults.

    >>> ReadLimits().max_features, ReadLimits(max_features=10).max_features
    (20000, 10)
    """

    max_bytes: int = 50 * MIB
    max_features: int = 20_000
    max_vertices: int = 1_000_000
    max_feature_vertices: int = 20_000
    max_unzipped_bytes: int = 200 * MIB
    max_zip_ratio: float = 100.0
    max_zip_members: int = 64


@dataclass(frozen=True)
class Source:
    """A layer file ready for a reader.

    ``label`` is the path as the user gave it (every message names it); ``path`` is what GDAL or
    pandas opens, possibly a temporary extracted copy. ``encoding`` is a Python codec name for the
    shapefile ``.dbf`` or the CSV text (None for GeoPackage/GeoJSON, which are UTF-8 by definition)
    and ``encoding_origin`` says where it came from: ``argument``, ``.cpg`` or ``detected``.
    ``prj`` is a CSV's sidecar ``.prj`` if there is one.
    """

    label: str
    fmt: str
    path: Path
    encoding: str | None = None
    encoding_origin: str | None = None
    prj: Path | None = None


def _fmt_for(path: Path, label: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in EXTENSIONS:
        raise BadInput(
            f"{label}: unsupported file type {path.suffix or '(no extension)'!r} "
            "(use .gpkg, .geojson/.json, .shp, a .zip holding one shapefile, or .csv with WKT)",
            field="path",
        )
    return EXTENSIONS[suffix]


def _sibling(path: Path, ext: str) -> Path | None:
    """The sidecar GDAL would open: same stem, extension in lower or upper case."""
    for candidate in (path.with_suffix(ext.lower()), path.with_suffix(ext.upper())):
        if candidate.is_file():
            return candidate
    return None


def _staged(parts: dict[str, bytes], encoding: str | None, label: str, workdir: Path) -> Source:
    """Write a shapefile's parts to ``workdir`` as ``layer.*`` (names repaired) and describe it."""
    codec, origin = shapefile_encoding(encoding, parts.get(".cpg"), parts[".dbf"], label)
    repaired = repair_dbf_names(parts[".dbf"], codec, label=label)
    for ext, data in parts.items():
        (workdir / f"layer{ext}").write_bytes(repaired if ext == ".dbf" and repaired else data)
    return Source(label, "shp", workdir / "layer.shp", codec, origin)


def _shapefile_source(path: Path, label: str, encoding: str | None, workdir: Callable) -> Source:
    missing = [ext for ext in (".shx", ".dbf") if _sibling(path, ext) is None]
    if missing:
        raise BadInput(
            f"{label}: shapefile is incomplete: {' and '.join(missing)} missing next to the .shp "
            "(copy all of .shp, .shx, .dbf, .prj, .cpg)",
            field="path",
        )
    dbf = _sibling(path, ".dbf").read_bytes()
    cpg = _sibling(path, ".cpg")
    codec, origin = shapefile_encoding(encoding, cpg.read_bytes() if cpg else None, dbf, label)
    if repair_dbf_names(dbf, codec, label=label) is None:
        return Source(label, "shp", path, codec, origin)
    # A field name was cut mid-character: read a copy with the name repaired, never the original.
    parts = {".shp": path.read_bytes(), ".dbf": dbf}
    for ext in (".shx", ".prj", ".cpg"):
        sibling = _sibling(path, ext)
        if sibling is not None:
            parts[ext] = sibling.read_bytes()
    return _staged(parts, encoding, label, workdir())


def _check_size(files: list[Path], label: str, limits: ReadLimits) -> None:
    """Refuse an empty file and one over ``limits.max_bytes`` before reading a byte of it."""
    sizes = [f.stat().st_size for f in files]
    if sizes[0] == 0:
        raise BadInput(f"{label}: the file is empty (0 bytes)", field="path")
    if sum(sizes) > limits.max_bytes:
        raise BadInput(
            f"{label}: the file is {mib(sum(sizes))}, over the {mib(limits.max_bytes)} limit",
            field="path",
        )


def _zip_source(
    path: Path, label: str, encoding: str | None, workdir: Callable, limits: ReadLimits
) -> Source:
    return _staged(unpack_shapefile(path, label, limits), encoding, label, workdir())


def _csv_source(path: Path, label: str, encoding: str | None) -> Source:
    if encoding is not None:
        codec, origin = normalize_encoding(encoding, label=label), "argument"
    else:
        detected = detect_encoding(path.read_bytes())
        if detected is None:
            raise BadInput(
                f"{label}: cannot tell the text encoding (neither UTF-8 nor GBK); pass encoding=",
                field="encoding",
            )
        # utf-8-sig drops the byte-order mark Excel writes, and reads BOM-less UTF-8 unchanged.
        codec, origin = ("utf-8-sig" if detected == "utf-8" else detected), "detected"
    return Source(label, "csv", path, codec, origin, _sibling(path, ".prj"))


@contextmanager
def open_source(
    path: str | Path,
    *,
    encoding: str | None = None,
    limits: ReadLimits | None = None,
    label: str | None = None,
    tmp_dir: Path | None = None,
) -> Iterator[Source]:
    """Check a layer file exists, is complete and within ``limits``; yield a :class:`Source`.

    ``label`` names the file in messages (default: the path as given; an upload passes the name
    the client sent, not the server's temporary path). Temporary copies (unzipped shapefiles,
    repaired ``.dbf`` headers) are made in ``tmp_dir`` (default: the system's) and live only as
    long as the ``with`` block, whether it ends normally or by an exception.
    """
    label = str(path) if label is None else label
    limits = ReadLimits() if limits is None else limits
    file = Path(path)
    fmt = _fmt_for(file, label)
    if not file.is_file():
        what = "is a folder, not a file" if file.is_dir() else "does not exist"
        raise BadInput(f"{label}: {what}", field="path")
    sized = [file]
    if fmt == "shp" and file.suffix.lower() == ".shp":
        sized += [p for p in (_sibling(file, ".dbf"),) if p is not None]
    _check_size(sized, label, limits)
    with ExitStack() as stack:

        def workdir() -> Path:
            made = tempfile.TemporaryDirectory(prefix="geo_grid_io_", dir=tmp_dir)
            return Path(stack.enter_context(made))

        if fmt == "shp" and file.suffix.lower() == ".zip":
            yield _zip_source(file, label, encoding, workdir, limits)
        elif fmt == "shp":
            yield _shapefile_source(file, label, encoding, workdir)
        elif fmt == "csv":
            yield _csv_source(file, label, encoding)
        else:
            yield Source(label, fmt, file)
