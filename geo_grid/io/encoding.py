"""The text encoding of a shapefile's ``.dbf`` or a CSV: the caller's, the ``.cpg``'s, or detected.

Shapefiles from Chinese GIS desktops are the hard case: the attribute table (``.dbf``) is usually GBK
and often comes without the ``.cpg`` that says so, GDAL then reads it as Latin-1 and every name turns
to mojibake. So before GDAL sees a shapefile :mod:`geo_grid.io.source` settles the encoding here
(:func:`shapefile_encoding`: argument, then ``.cpg``, then a look at the bytes) and hands it to
pyogrio explicitly. Field names a writer cut mid-character are repaired (:func:`repair_dbf_names`).
"""

from __future__ import annotations

import codecs
import re
import struct

from geo_grid.errors import BadInput

__all__ = [
    "codec_from_cpg",
    "detect_dbf_encoding",
    "detect_encoding",
    "normalize_encoding",
    "repair_dbf_names",
    "shapefile_encoding",
]


# Everything GBK-like is read as GB18030: a strict superset, so GBK/GB2312 text decodes unchanged and
# the rare characters only GB18030 has do not fail.
_GB_FAMILY = {"gbk", "gb2312", "cp936", "936", "gb18030", "ms936", "euc-cn", "euc_cn"}


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


def shapefile_encoding(
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
