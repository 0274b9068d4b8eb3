"""Open311 GeoReport v2: the spec's field names, JSON and XML shapes and error format.

A FixMyStreet-style client posts form fields (``api_key, service_code, lat, long, address_string,
description, email, first_name, last_name, phone, media_url, attribute[code]``) and reads back
``service_requests`` with ``service_request_id, status (open|closed), status_notes, service_name,
service_code, description, agency_responsible, service_notice, requested_datetime,
updated_datetime, expected_datetime, address, address_id, zipcode, lat, long, media_url``. Errors
are a list of ``{code, description}`` (XML ``<errors><error>``). Datetimes are ISO 8601 with an
offset; XML documents start with the UTF-8 declaration. This module only shapes data; the router
serves it and the service stores it.

>>> to_xml("errors", errors(403, "invalid api_key"))
'<?xml version="1.0" encoding="UTF-8"?><errors><error><code>403</code><description>invalid api_key</description></error></errors>'
>>> parse_request({"api_key": "k", "service_code": "E0101", "lat": "32.1", "long": "118.9"}).lat
32.1
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from geo_grid.access import mask_text
from geo_grid.cases.catalogue import Category
from geo_grid.cases.lifecycle import CLOSED_STATES, STATES
from geo_grid.cases.rules import SEVERITIES
from geo_grid.errors import BadInput

__all__ = [
    "SPEC_URL",
    "Open311Request",
    "comma_list",
    "discovery",
    "errors",
    "iso",
    "parse_request",
    "plain_text",
    "post_response",
    "service_definition",
    "service_list",
    "service_request",
    "to_xml",
]

SPEC_URL = "http://wiki.open311.org/GeoReport_v2"
_CHILD = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
}


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with the offset the spec requires (naive datetimes are taken as UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.isoformat(timespec="seconds") + "Z"
    return value.isoformat(timespec="seconds")


def discovery(base_url: str, *, changeset: datetime, contact: str, key_service: str) -> dict:
    """The service discovery document (``discovery.json``)."""
    return {
        "changeset": iso(changeset),
        "contact": contact,
        "key_service": key_service,
        "endpoints": [
            {
                "specification": SPEC_URL,
                "url": base_url.rstrip("/"),
                "changeset": iso(changeset),
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }


def service_list(cats: Sequence[Category]) -> list[dict[str, Any]]:
    """``services.json``: one entry per category; every one has attributes (metadata true)."""
    return [
        {
            "service_code": c.code,
            "service_name": c.name_zh,
            "description": f"{c.major_zh} · {c.kind_zh}",
            "metadata": True,
            "type": "realtime",
            "keywords": ",".join(c.keywords),
            "group": c.major_zh,
        }
        for c in cats
    ]


def service_definition(cat: Category) -> dict[str, Any]:
    """``services/{code}.json``: the attributes a client may send as ``attribute[code]``."""
    return {
        "service_code": cat.code,
        "attributes": [
            {
                "variable": True,
                "code": "severity",
                "datatype": "singlevaluelist",
                "required": False,
                "datatype_description": "紧急程度",
                "order": 1,
                "description": "紧急程度 (默认按类别)",
                "values": [{"key": k, "name": k} for k in SEVERITIES],
            },
            {
                "variable": True,
                "code": "landmark",
                "datatype": "string",
                "required": False,
                "datatype_description": "附近标志物",
                "order": 2,
                "description": "附近标志物, 帮助网格员找到现场",
            },
        ],
    }


def service_request(case: Mapping[str, Any]) -> dict[str, Any]:
    """One stored case in the spec's ``request`` shape: never the reporter, and the phone and ID
    numbers in its description and address masked (:func:`geo_grid.access.mask_text`), whoever
    asks: an Open311 answer goes to other systems.

    >>> service_request({"number": "1", "status": "received", "category_code": "E0502",
    ...                  "description": "占道, 电话13912345678"})["description"]
    '占道, 电话139****5678'
    """
    status = case["status"]
    photos = case.get("photos") or []
    return {
        "service_request_id": str(case["number"]),
        "status": "closed" if status in CLOSED_STATES else "open",
        "status_notes": STATES.get(status, status),
        "service_name": case.get("category_name"),
        "service_code": case["category_code"],
        "description": mask_text(case.get("description")),
        "agency_responsible": case.get("department"),
        "service_notice": None,
        "requested_datetime": iso(case.get("received_at")),
        "updated_datetime": iso(case.get("updated_at")),
        "expected_datetime": iso(case.get("due_at")),
        "address": mask_text(case.get("address_text")),
        "address_id": None,
        "zipcode": None,
        "lat": case.get("lat"),
        "long": case.get("lon"),
        "media_url": photos[0] if photos else None,
    }


def post_response(case: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The answer to ``POST requests.json``: the new id (cases are created in real time)."""
    notice = "已受理" if case["status"] != "manual" else "已受理, 地址待人工核实"
    return [
        {
            "service_request_id": str(case["number"]),
            "service_notice": notice,
            "account_id": None,
        }
    ]


def errors(code: int, description: str) -> list[dict[str, Any]]:
    """The spec's error list."""
    return [{"code": int(code), "description": description}]


@dataclass(frozen=True)
class Open311Request:
    """A validated ``POST requests`` form."""

    service_code: str
    lat: float | None
    long: float | None
    address_string: str | None
    description: str | None
    name: str | None
    phone: str | None
    email: str | None
    media_url: str | None
    attributes: dict[str, str] = field(default_factory=dict)


def plain_text(value: str, field: str) -> str:
    """``value`` if it holds no control character (PostgreSQL text cannot hold NUL); else
    :class:`BadInput` naming ``field``.

    >>> plain_text("E0101", "service_code")
    'E0101'
    """
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise BadInput(f"{field}: control characters are not allowed: {value!r}", field=field)
    return value


def comma_list(value: str | None, field: str) -> list[str] | None:
    """A GeoReport v2 comma-delimited list (``service_request_id=1,2``): its items, stripped and
    checked by :func:`plain_text`; None when it names none.

    >>> comma_list(" 638344, 638349,", "service_request_id"), comma_list("", "status")
    (['638344', '638349'], None)
    """
    items = [plain_text(v.strip(), field) for v in (value or "").split(",") if v.strip()]
    return items or None


def _float(form: Mapping[str, Any], key: str) -> float | None:
    value = form.get(key)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise BadInput(f"{key}: not a number: {value!r}", field=key) from None


def parse_request(form: Mapping[str, Any]) -> Open311Request:
    """Validate a POST form: service_code and a location (lat+long or address).

    The form's ``api_key`` is a credential, checked before this by the API's access layer.
    """
    code = (form.get("service_code") or "").strip()
    if not code:
        raise BadInput("service_code: missing", field="service_code")
    lat, lon = _float(form, "lat"), _float(form, "long")
    if (lat is None) != (lon is None):
        raise BadInput("lat/long: give both or neither", field="lat")
    address = (form.get("address_string") or "").strip() or None
    if lat is None and address is None and not form.get("address_id"):
        raise BadInput(
            "location: lat & long, address_string or address_id is required", field="lat"
        )
    if lat is not None and not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise BadInput(f"lat/long: out of range ({lat}, {lon})", field="lat")
    attributes = {
        k[len("attribute[") : -1]: str(v)
        for k, v in form.items()
        if k.startswith("attribute[") and k.endswith("]")
    }
    name = " ".join(p for p in (form.get("last_name"), form.get("first_name")) if p) or None
    return Open311Request(
        service_code=code,
        lat=lat,
        long=lon,
        address_string=address,
        description=form.get("description") or None,
        name=name,
        phone=form.get("phone") or None,
        email=form.get("email") or None,
        media_url=form.get("media_url") or None,
        attributes=attributes,
    )


def _xml_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _element(tag: str, value: Any) -> str:
    if isinstance(value, Mapping):
        inner = "".join(_element(k, v) for k, v in value.items())
    elif isinstance(value, list | tuple):
        child = _CHILD.get(tag, "item")
        inner = "".join(_element(child, v) for v in value)
    else:
        inner = _xml_value(value)
    return f"<{tag}>{inner}</{tag}>" if inner else f"<{tag}></{tag}>"


def to_xml(root: str, payload: Any) -> str:
    """Render a payload under ``root`` (services, service_definition, service_requests, errors,
    discovery) as the spec's XML."""
    return '<?xml version="1.0" encoding="UTF-8"?>' + _element(root, payload)
