"""A zipped shapefile unpacked safely: zip bombs, path traversal and nested archives refused.

Files may come from anyone (the API takes uploads), so before anything is unpacked the zip's
central directory is held to :class:`~geo_grid.io.source.ReadLimits`: the member count, names (no
``..``, absolute paths or nested archives), declared unpacked size and compression ratio; while
unpacking, the bytes actually produced are counted against the same budget, since a zip header can
lie. Nothing is written to disk here: :func:`unpack_shapefile` hands back the parts' bytes.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from geo_grid.errors import BadInput
from geo_grid.io.messages import MIB, mib, one_line

if TYPE_CHECKING:
    from geo_grid.io.source import ReadLimits

__all__ = ["check_zip", "unpack_shapefile"]


#: Archive types refused inside a zip: a layer zip holds one shapefile, never another archive.
_ARCHIVE_SUFFIXES = (".zip", ".7z", ".rar", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".zst", ".kmz")


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
            f"{label}: refused: the zip would unpack to {mib(declared)}, over the "
            f"{mib(limits.max_unzipped_bytes)} limit",
            field="path",
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > MIB and ratio > limits.max_zip_ratio:
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
        while chunk := stream.read(MIB):
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


def unpack_shapefile(path: Path, label: str, limits: ReadLimits) -> dict[str, bytes]:
    """The parts of the one shapefile in a zip (lower-case extension → bytes), within ``limits``."""
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
        raise BadInput(f"{label}: not a readable zip file ({one_line(exc)})", field="path") from exc
    return parts


def check_zip(path: Path, label: str, limits: ReadLimits) -> None:
    """The same checks on any zip container (an XLSX workbook is one) before it is opened:
    member count and names, declared unpacked size and compression ratio."""
    try:
        with zipfile.ZipFile(path) as archive:
            _check_archive(archive, label, limits)
    except zipfile.BadZipFile as exc:
        raise BadInput(f"{label}: not a readable zip container ({one_line(exc)})",
                       field="path") from exc  # fmt: skip
