"""Masking of personal numbers: reporters' phones and the phone and ID numbers in free text."""

from __future__ import annotations

import pytest

from geo_grid.access import has_personal_numbers, mask_phone, mask_text
from geo_grid.address import normalize

MASKED = [
    # mobiles: bare, spaced, dashed, +86, full-width digits
    ("电话13912345678", "电话139****5678"),
    ("电话139 1234 5678 张先生", "电话139 **** 5678 张先生"),
    ("联系139-1234-5678", "联系139-****-5678"),
    ("+86 139 1234 5678", "+86 139 **** 5678"),
    ("8613912345678", "86139****5678"),
    ("手机：１８９１２３４５６７８", "手机：１８９****５６７８"),
    ("找18912345678或13812345678", "找189****5678或138****5678"),
    # landlines with an area code, and local numbers after a cue
    ("座机025-84561234", "座机025-****1234"),
    ("(025)84561234转", "(025)****1234转"),
    ("0571-88881234", "0571-****1234"),
    ("01012345678", "010****5678"),
    ("电话：84561234", "电话：****1234"),
    ("座机号 8456-1234", "座机号 ****-1234"),
    ("Tel 2345678", "Tel ****678"),
    # 18-digit ID numbers
    ("身份证320102199001011234", "身份证3201**********1234"),
    ("身份证号32010219900101123X。", "身份证号3201**********123X。"),
]

KEPT = [
    "尧化街道尧佳路12号3栋2单元301室",
    "案件 2026112500001234 已派遣",  # a case number (16 digits)
    "网格 320113003001001",  # a unified grid code (15 digits)
    "坐标 118.9123456, 32.1234567",
    "2026-11-25 08:30 上报",
    "金韵雅苑一幢一单元七零一",
    "12345 热线转办",
    "门牌 84561234 号",  # 8 digits but no phone cue
    "13912345678901",  # 14 digits: not a mobile
]


@pytest.mark.parametrize(("text", "masked"), MASKED)
def test_phone_and_id_numbers_in_free_text_are_masked(text, masked):
    assert mask_text(text) == masked
    assert has_personal_numbers(text)
    assert mask_text(masked) == masked  # masking twice changes nothing


@pytest.mark.parametrize("text", KEPT)
def test_the_rest_of_the_text_stays_readable(text):
    assert mask_text(text) == text
    assert not has_personal_numbers(text)


def test_reporter_fields_and_free_text_share_one_masking():
    """A reporter's phone field and the same number in a description read the same."""
    for number in ("13912345678", "025-84561234", "320102199001011234", "+86 139 1234 5678"):
        assert mask_text(f"电话{number}。") == f"电话{mask_phone(number)}。"
    # short or odd fields: never fewer than 4 digits hidden
    assert mask_phone("1234567") == "****567"
    assert mask_phone("12345") == "****"


def test_the_address_normalizer_drops_the_same_numbers():
    """The geocoder strips what the masking finds: a phone is never part of an address key."""
    assert normalize("尧佳路12号 电话139 1234 5678") == normalize("尧佳路12号")
    assert normalize("尧佳路12号 座机：84561234") == normalize("尧佳路12号")
