"""The API's request and answer bodies, one module per area; every name is re-exported here.

Routers import their models from here and only translate: parse the request into these types,
call a service (:mod:`geo_grid.services`), answer with these types.
"""

from __future__ import annotations

from api.schemas.districts import (
    AddressImportOut,
    DistrictAddedOut,
    DistrictList,
    DistrictOut,
    RoleIn,
    RoleList,
    RoleOut,
    RosterImportOut,
)

__all__ = [
    "AddressImportOut",
    "DistrictAddedOut",
    "DistrictList",
    "DistrictOut",
    "RoleIn",
    "RoleList",
    "RoleOut",
    "RosterImportOut",
]
