"""Where the bytes of a layer file are and how their text is encoded (private to :mod:`geo_grid.io`).

Shapefiles from Chinese GIS desktops are the hard case: the attribute table (``.dbf``) is usually GBK
and often comes without the ``.cpg`` that says so, GDAL then reads it as Latin-1 and every name turns
to mojibake. So before GDAL sees a shapefile we check its sidecars, settle the encoding (argument,
then ``.cpg``, then a look at the bytes) and hand it to pyogrio explicitly.

Zipped shapefiles are extracted to a temporary folder under fixed ASCII names rather than read
through ``/vsizip/``: Windows zip tools store Chinese member names in GBK without the UTF-8 flag, and
how GDAL decodes those names is configuration-dependent; the extracted copy has no such question.

Files may come from anyone (the API takes uploads), so before anything is unpacked or parsed the
file is held to :class:`ReadLimits`: its size, a zip's member count, names (no ``..``, absolute
paths or nested archives), declared unpacked size and compression ratio; while unpacking, the bytes
actually produced are counted against the same budget, since a zip header can lie.
"""

from __future__ import annotations

import codecs
import re
import struct
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from geo_grid.errors import BadInput

__all__ = [
    "EXTENSIONS",
    "ReadLimits",
    "Source",
    "codec_from_cpg",
    "detect_encoding",
    "detect_dbf_encoding",
    "normalize_encoding",
    "open_source",
    "repair_dbf_names",
]

#: File extension (lower case) → format key.
EXTENSIONS: dict[str, str] = {
    ".gpkg": "gpkg",
    ".geojson": "geojson",
    ".json": "geojson",
    ".shp": "shp",
    ".zip": "shp",
    ".csv": "csv",
}

_MiB = 1024 * 1024

#: Archive types refused inside a zip: a layer zip holds one shapefile, never another archive.
_ARCHIVE_SUFFIXES = (".zip", ".7z", ".rar", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".zst", ".kmz")


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

    max_bytes: int = 50 * _MiB
    max_features: int = 20_000
    max_vertices: int = 1_000_000
    max_feature_vertices: int = 20_000
    max_unzipped_bytes: int = 200 * _MiB
    max_zip_ratio: float = 100.0
    max_zip_members: int = 64


# Everything GBK-like is read as GB18030: a strict superset, so GBK/GB2312 text decodes unchanged and
# the rare characters only GB18030 has do not fail.
_GB_FAMILY = {"gbk", "gb2312", "cp936", "936", "gb18030", "ms936", "euc-cn", "euc_cn"}


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


def normalize_encoding(name: str, *, label: str, field: str = "encoding") -> str:
    """Return the Python codec name for a user- or file-supplied encoding name.

    >>> normalize_encoding("GBK", label="x.shp"), normalize_encoding("UTF8", label="x.shp")
    ('gb18030', 'utf-8')
    """
    text = name.strip().lower()
    if text in _GB_FAMILY:
        return "gb18030"
    try:
        return codecs.lookup(text).name
    except LookupError:
        raise BadInput(
            f"{label}: unknown text encoding {name!r} (try 'utf-8' or 'gbk')", field=field
        ) from None


def codec_from_cpg(text: str) -> str | None:
    """Python codec for the contents of a ``.cpg`` file, or None when it names nothing usable.

    ArcGIS and QGIS write names (``UTF-8``, ``GBK``), Windows code page numbers (``936``,
    ``65001``) or ``ANSI 936``; ``System``/``OEM`` mean "whatever the writing PC used", which we
    cannot know, so those fall back to detection.

    >>> codec_from_cpg("UTF-8"), codec_from_cpg("ANSI 936"), codec_from_cpg("65001")
    ('utf-8', 'gb18030', 'utf-8')
    >>> codec_from_cpg("System") is None
    True
    """
    value = text.strip().strip("\x00").strip()
    if not value:
        return None
    digits = re.fullmatch(r"(?:ansi|cp|oem)?[\s_-]*(\d+)", value, flags=re.IGNORECASE)
    if digits:
        number = digits.group(1)
        if number == "65001":
            return "utf-8"
        value = "936" if number == "936" else f"cp{number}"
    try:
        return normalize_encoding(value, label="")
    except BadInput:
        return None


def detect_encoding(data: bytes) -> str | None:
    """``utf-8`` if the bytes are valid UTF-8, else ``gb18030`` if they are valid GBK/GB18030.

    ASCII is valid UTF-8, so plain-ASCII tables are read as UTF-8, which changes nothing.

    >>> detect_encoding("网格".encode("utf-8")), detect_encoding("网格".encode("gbk"))
    ('utf-8', 'gb18030')
    >>> detect_encoding(b"\\xff\\xfe\\xff") is None
    True
    """
    for codec in ("utf-8", "gb18030"):
        try:
            data.decode(codec)
        except UnicodeDecodeError:
            continue
        return codec
    return None


def _dbf_layout(data: bytes, label: str) -> tuple[list[tuple[int, bytes]], list[bytes]]:
    """Field names (with their byte offsets) and character-field values of a ``.dbf``.

    Numbers and dates in a dBASE table are ASCII; looking only at text keeps detection fast and
    stops a stray header byte from deciding the encoding.
    """
    n_records, header_len, record_len = (
        struct.unpack("<IHH", data[4:12]) if len(data) >= 32 else (0, 0, 0)
    )
    if header_len < 33 or header_len > len(data) or record_len < 1:
        raise BadInput(f"{label}: the .dbf is not a dBASE table (corrupt file?)", field="path")
    names: list[tuple[int, bytes]] = []
    slices: list[tuple[int, int]] = []
    offset = 1  # each record starts with a deletion flag byte
    for start in range(32, header_len - 31, 32):
        if data[start] == 0x0D:
            break
        names.append((start, data[start : start + 11].split(b"\x00", 1)[0]))
        width = data[start + 16]
        if data[start + 11 : start + 12] in (b"C", b"M"):
            slices.append((offset, width))
        offset += width
    values: list[bytes] = []
    body = data[header_len : header_len + n_records * record_len]
    for row in range(0, len(body) - record_len + 1, record_len):
        record = body[row : row + record_len]
        values.extend(record[o : o + w].rstrip(b" \x00") for o, w in slices)
    return names, values


def _decodes(chunk: bytes, codec: str) -> bool:
    """True if ``chunk`` is text in ``codec``, allowing a last character cut by a byte limit."""
    for cut in range(4):
        try:
            chunk[: len(chunk) - cut].decode(codec)
        except UnicodeDecodeError:
            continue
        return True
    return False


def detect_dbf_encoding(data: bytes, *, label: str) -> str | None:
    """``utf-8`` or ``gb18030`` for a ``.dbf`` without ``.cpg``, or None if neither fits.

    Writers cut field names at 10 bytes and values at the field width, sometimes in the middle of
    a character; such a cut tail does not count against an encoding.
    """
    names, values = _dbf_layout(data, label)
    chunks = [name for _, name in names] + values
    blob = b"\n".join(chunks)
    for codec in ("utf-8", "gb18030"):
        if _decodes(blob, codec) or all(_decodes(chunk, codec) for chunk in chunks):
            return codec
    return None


def repair_dbf_names(data: bytes, codec: str, *, label: str) -> bytes | None:
    """A copy of the ``.dbf`` whose field names cut mid-character are trimmed to whole ones.

    GDAL and other writers truncate a long UTF-8 name such as 网格名称 (12 bytes) to 10 bytes,
    leaving half a character that makes pyogrio refuse the whole file. Returns None when every
    name already decodes.
    """
    patched = bytearray(data)
    changed = False
    for offset, name in _dbf_layout(data, label)[0]:
        try:
            name.decode(codec)
            continue
        except UnicodeDecodeError:
            pass
        for cut in range(1, 4):
            try:
                name[:-cut].decode(codec)
            except UnicodeDecodeError:
                continue
            patched[offset : offset + 11] = name[:-cut].ljust(11, b"\x00")
            changed = True
            break
    return bytes(patched) if changed else None


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


def _shapefile_encoding(
    encoding: str | None, cpg: bytes | None, dbf: bytes, label: str
) -> tuple[str, str]:
    """Settle the ``.dbf`` encoding: argument, then ``.cpg``, then the bytes."""
    if encoding is not None:
        return normalize_encoding(encoding, label=label), "argument"
    if cpg is not None:
        codec = codec_from_cpg(cpg.decode("ascii", errors="ignore"))
        if codec is not None:
            _check_cpg_claim(codec, dbf, label)
            return codec, ".cpg"
    codec = detect_dbf_encoding(dbf, label=label)
    if codec is None:
        raise BadInput(
            f"{label}: cannot tell the text encoding of the .dbf (neither UTF-8 nor GBK); "
            "pass encoding=",
            field="encoding",
        )
    return codec, "detected"


def _check_cpg_claim(codec: str, dbf: bytes, label: str) -> None:
    """Refuse a ``.cpg`` naming a legacy code page when the text is plainly UTF-8.

    GB18030 decodes most UTF-8 byte runs without error, into mojibake (尧化 → 灏鍖); a ``.cpg`` of
    ``GBK`` left over from an older export would then store nonsense silently. Chinese text in GBK
    is practically never valid UTF-8, so non-ASCII text that is valid UTF-8 is taken as proof.
    The opposite lie (``.cpg`` UTF-8, bytes GBK) fails to decode and is refused when read.
    """
    if codec == "utf-8":
        return
    values = _dbf_layout(dbf, label)[1]
    if all(value.isascii() for value in values):
        return
    if not all(_decodes(value, "utf-8") for value in values):
        return
    raise BadInput(
        f"{label}: the .cpg says {codec} but the attribute text is UTF-8; "
        "pass encoding='utf-8' (or fix the .cpg)",
        field="encoding",
    )


def _staged(parts: dict[str, bytes], encoding: str | None, label: str, workdir: Path) -> Source:
    """Write a shapefile's parts to ``workdir`` as ``layer.*`` (names repaired) and describe it."""
    codec, origin = _shapefile_encoding(encoding, parts.get(".cpg"), parts[".dbf"], label)
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
    codec, origin = _shapefile_encoding(encoding, cpg.read_bytes() if cpg else None, dbf, label)
    if repair_dbf_names(dbf, codec, label=label) is None:
        return Source(label, "shp", path, codec, origin)
    # A field name was cut mid-character: read a copy with the name repaired, never the original.
    parts = {".shp": path.read_bytes(), ".dbf": dbf}
    for ext in (".shx", ".prj", ".cpg"):
        sibling = _sibling(path, ext)
        if sibling is not None:
            parts[ext] = sibling.read_bytes()
    return _staged(parts, encoding, label, workdir())


def _mib(n: float) -> str:
    return f"{n / _MiB:.1f} MiB"


def _check_size(files: list[Path], label: str, limits: ReadLimits) -> None:
    """Refuse an empty file and one over ``limits.max_bytes`` before reading a byte of it."""
    sizes = [f.stat().st_size for f in files]
    if sizes[0] == 0:
        raise BadInput(f"{label}: the file is empty (0 bytes)", field="path")
    if sum(sizes) > limits.max_bytes:
        raise BadInput(
            f"{label}: the file is {_mib(sum(sizes))}, over the {_mib(limits.max_bytes)} limit",
            field="path",
        )


def _unsafe_name(name: str) -> bool:
    """True for member names that would leave the folder they are unpacked into."""
    posix = name.replace("\\", "/")
    return (
        posix.startswith("/")
        or re.match(r"^[A-Za-z]:", posix) is not None
        or ".." in PurePosixPath(posix).parts
        or "\x00" in posix
    )


def _check_archive(archive: zipfile.ZipFile, label: str, limits: ReadLimits) -> None:
    """Zip-bomb and traversal checks on the central directory, before anything is unpacked."""
    infos = archive.infolist()
    if len(infos) > limits.max_zip_members:
        raise BadInput(
            f"{label}: the zip holds {len(infos)} entries, more than {limits.max_zip_members}; "
            "zip only the shapefile's parts",
            field="path",
        )
    for info in infos:
        if _unsafe_name(info.filename):
            raise BadInput(
                f"{label}: refused: zip member name {info.filename!r} points outside the archive",
                field="path",
            )
        if info.filename.lower().endswith(_ARCHIVE_SUFFIXES):
            raise BadInput(
                f"{label}: refused: the zip holds another archive ({info.filename}); "
                "zip the shapefile's parts directly",
                field="path",
            )
    declared = sum(info.file_size for info in infos)
    if declared > limits.max_unzipped_bytes:
        raise BadInput(
            f"{label}: refused: the zip would unpack to {_mib(declared)}, over the "
            f"{_mib(limits.max_unzipped_bytes)} limit",
            field="path",
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > _MiB and ratio > limits.max_zip_ratio:
            raise BadInput(
                f"{label}: refused: zip member {info.filename} expands {ratio:.0f}-fold "
                f"(limit {limits.max_zip_ratio:g}); this looks like a zip bomb",
                field="path",
            )


def _unpack(archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, label: str) -> bytes:
    """A member's bytes, counted as they come: never more than declared, never over ``budget``."""
    cap = min(info.file_size, budget)
    chunks, total = [], 0
    with archive.open(info) as stream:
        while chunk := stream.read(_MiB):
            total += len(chunk)
            if total > cap:
                raise BadInput(
                    f"{label}: refused: zip member {info.filename} unpacks to more than "
                    + ("it declares" if cap == info.file_size else "the unpacked-size limit"),
                    field="path",
                )
            chunks.append(chunk)
    return b"".join(chunks)


def _zip_members(archive: zipfile.ZipFile, label: str) -> dict[str, zipfile.ZipInfo]:
    """The one shapefile in a zip: lower-case extension → member, checked for completeness."""
    infos = [
        info
        for info in archive.infolist()
        if not info.is_dir()
        and not info.filename.startswith("__MACOSX/")
        and not PurePosixPath(info.filename).name.startswith("._")
    ]
    shps = [info for info in infos if info.filename.lower().endswith(".shp")]
    if not shps:
        names = ", ".join(info.filename for info in infos[:10]) or "nothing"
        raise BadInput(f"{label}: no shapefile (.shp) in the zip (it holds {names})", field="path")
    if len(shps) > 1:
        names = ", ".join(info.filename for info in shps)
        raise BadInput(
            f"{label}: the zip holds {len(shps)} shapefiles ({names}); zip one layer per file",
            field="path",
        )
    stem = shps[0].filename[:-4]
    members = {".shp": shps[0]}
    for info in infos:
        name = info.filename
        if name[: len(stem)] == stem and name[len(stem) :].lower() in (
            ".shx",
            ".dbf",
            ".prj",
            ".cpg",
        ):
            members[name[len(stem) :].lower()] = info
    missing = [ext for ext in (".shx", ".dbf") if ext not in members]
    if missing:
        raise BadInput(
            f"{label}: shapefile {shps[0].filename} in the zip is incomplete: "
            f"{' and '.join(missing)} missing",
            field="path",
        )
    return members


def _zip_source(
    path: Path, label: str, encoding: str | None, workdir: Callable, limits: ReadLimits
) -> Source:
    try:
        with zipfile.ZipFile(path) as archive:
            _check_archive(archive, label, limits)
            members = _zip_members(archive, label)
            parts, budget = {}, limits.max_unzipped_bytes
            for ext, info in members.items():
                parts[ext] = _unpack(archive, info, budget, label)
                budget -= len(parts[ext])
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        OSError,
        EOFError,
        NotImplementedError,
    ) as exc:
        raise BadInput(
            f"{label}: not a readable zip file ({_one_line(exc)})", field="path"
        ) from exc
    return _staged(parts, encoding, label, workdir())


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


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
