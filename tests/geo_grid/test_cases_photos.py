"""Photos of a case's work: what an upload must be and what is kept (geo_grid/cases/photos.py),
who may add which phase when (geo_grid/cases/duties.py), and the inbox's boxes
(geo_grid/cases/inbox.py). No database."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from PIL import Image

from geo_grid import labels
from geo_grid.cases import duties, inbox
from geo_grid.cases.lifecycle import STATES
from geo_grid.cases.photos import clean_photo, sniff
from geo_grid.errors import BadInput, Conflict, Forbidden, TooLarge

LIMITS = {"max_bytes": 2_000_000, "max_pixels": 4_000_000}
GPS_IFD = 0x8825


def _jpeg(size=(64, 48), *, exif: Image.Exif | None = None, colour="red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", **({"exif": exif} if exif else {}))
    return out.getvalue()


def _gps_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (32.0, 6.0, 30.0), 3: "E", 4: (118.0, 54.0, 1.0)})
    return exif


def test_a_phone_photo_is_kept_upright_without_its_gps_position():
    data = _jpeg((80, 40), exif=_gps_exif())
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(GPS_IFD)  # the upload has a position
    kept = clean_photo(data, **LIMITS)
    image = Image.open(io.BytesIO(kept.data))
    assert (kept.width, kept.height) == image.size == (40, 80)  # turned by its orientation
    assert not image.getexif() and "exif" not in image.info
    assert b"PhoneMaker" not in kept.data and kept.content_type == "image/jpeg"


def test_png_text_chunks_are_dropped_and_webp_is_kept_as_webp():
    from PIL import PngImagePlugin

    meta = PngImagePlugin.PngInfo()
    meta.add_text("Comment", "<script>alert(1)</script>")
    out = io.BytesIO()
    Image.new("RGBA", (30, 30), (0, 128, 0, 200)).save(out, "PNG", pnginfo=meta)
    kept = clean_photo(out.getvalue(), **LIMITS)
    assert kept.content_type == "image/png" and b"<script>" not in kept.data
    webp = io.BytesIO()
    Image.new("RGB", (30, 30), "blue").save(webp, "WEBP")
    assert clean_photo(webp.getvalue(), **LIMITS).extension == "webp"


def test_a_polyglot_is_reduced_to_its_pixels():
    data = _jpeg() + b"<html><script>alert(document.cookie)</script></html>"
    kept = clean_photo(data, **LIMITS)
    assert b"<script>" not in kept.data and kept.data.endswith(b"\xff\xd9")


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "is empty"),
        (b"GIF89a" + b"\0" * 40, "not a JPEG, PNG or WebP"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
         "not a JPEG, PNG or WebP"),
        (b"%PDF-1.7\n", "not a JPEG, PNG or WebP"),
        (_jpeg()[:200], "cannot be decoded"),  # cut off in transit
    ],
)  # fmt: skip
def test_what_is_not_a_whole_photo_is_refused_naming_the_field(data, says):
    with pytest.raises(BadInput, match=says) as err:
        clean_photo(data, **LIMITS)
    assert err.value.field == "file"


def test_limits_of_bytes_and_pixels():
    data = _jpeg((100, 100))
    with pytest.raises(TooLarge, match="GEO_GRID_PHOTO_MAX_BYTES"):
        clean_photo(data, max_bytes=len(data) - 1, max_pixels=10**6)
    with pytest.raises(BadInput, match=r"100×100 is more than 9999 pixels"):
        clean_photo(data, max_bytes=10**6, max_pixels=9_999)


@pytest.mark.parametrize(
    ("side", "says"), [(5_000, "5000×5000 is more than 4000000 pixels"),
                       (20_000, "more than 4000000 pixels")],
)  # fmt: skip
def test_a_decompression_bomb_is_refused_from_its_header_before_decoding(side, says):
    """A one-colour PNG of side × side pixels compresses to a few hundred KB; its header is read,
    its pixels never are (20000² would take 1.2 GB decoded; Pillow's own guard sees that one
    first, and says it the same way)."""
    out = io.BytesIO()
    Image.new("1", (side, side)).save(out, "PNG")
    data = out.getvalue()
    assert len(data) < 200_000
    with pytest.raises(BadInput, match=says) as err:
        clean_photo(data, max_bytes=10**6, max_pixels=4_000_000)
    assert err.value.field == "file"


def test_sniff_reads_the_bytes_not_the_name():
    assert sniff(_jpeg()[:16]) == "JPEG" and sniff(b"RIFF\0\0\0\0WAVEfmt ") is None


# ------------------------------------------------------------------------------ who, when
def test_only_the_grid_worker_takes_photos_and_only_while_the_work_is_open():
    for status in STATES:
        phases = duties.photo_phases("grid_worker", status)
        expected = [p for p, states in duties.PHOTO_STATES.items() if status in states]
        assert phases == expected, status
        for role in ("dispatcher", "admin", "leader", "viewer"):
            assert duties.photo_phases(role, status) == []
    assert duties.photo_phases("grid_worker", "handling", in_scope=False) == []
    with pytest.raises(Forbidden, match="photo"):
        duties.check_photo("dispatcher", "handling", "before")
    with pytest.raises(Conflict, match="open now: before") as err:
        duties.check_photo("grid_worker", "dispatched", "after")
    assert err.value.extra == {"allowed": ["before"], "status": "dispatched"}
    with pytest.raises(Conflict, match="open now: none"):
        duties.check_photo("grid_worker", "handled", "after")  # the verifier's evidence is fixed


def test_each_callers_actions_follow_status_role_area_and_four_eyes():
    assert duties.actions_for("grid_worker", "handling") == [
        "comment", "contact", "handle", "return", "suspend"]  # fmt: skip
    assert "close" in duties.actions_for("dispatcher", "verified")
    assert duties.actions_for("leader", "handling") == []
    assert duties.actions_for("viewer", "handled") == []
    mine = duties.actions_for("grid_worker", "handled", actor="user:a", handler="user:a")
    theirs = duties.actions_for("grid_worker", "handled", actor="user:b", handler="user:a")
    assert "verify" not in mine and {"verify", "reopen"} <= set(theirs)
    assert duties.actions_for("dispatcher", "closed") == ["rate"]


# ------------------------------------------------------------------------------ inbox boxes
NOW = datetime(2026, 12, 6, tzinfo=UTC)


def test_each_role_opens_on_its_own_box():
    assert inbox.default_box("grid_worker") == "todo"
    assert inbox.default_box("dispatcher") == "attention"
    assert inbox.default_box("leader") == "open"
    assert inbox.default_box("planner") is None
    assert inbox.box_filters("attention", NOW) == {"attention_at": NOW}
    assert inbox.box_filters("done", NOW) == {"open": False}
    assert all(b.label and not b.label.isascii() for b in inbox.BOXES.values())
    # a box is named like a status only when it holds exactly that status (待人工派遣): 已办结
    # is handled, waiting for 核查, and lies in the open box
    for box in inbox.BOXES.values():
        if box.label in labels.CASE_STATE.values():
            assert box.filters(NOW) == {"status": [k for k, v in labels.CASE_STATE.items()
                                                   if v == box.label]}, box  # fmt: skip


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: inbox.check_box("grid_worker", "attention"), "box"),
        (lambda: inbox.check_box("planner", None), "box"),
        (lambda: inbox.box_filters("nope", NOW), "box"),
        (lambda: inbox.check_filters(["limbo"], [], page=1), "status"),
        (lambda: inbox.check_filters([], ["X9999"], page=1), "category"),
        (lambda: inbox.check_filters([], [], page=0), "page"),
    ],
)
def test_bad_inbox_requests_name_the_field(call, field):
    with pytest.raises(BadInput) as err:
        call()
    assert err.value.field == field
