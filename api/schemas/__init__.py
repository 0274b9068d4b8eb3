"""The API's request and answer bodies, one module per area; every name is re-exported here.

Routers import their models from here and only translate: parse the request into these types,
call a service (:mod:`geo_grid.services`), answer with these types. Error bodies are
:class:`api.errors.ErrorBody` (Open311 routes: :class:`Open311Error`); shared path and query
parameters are in :mod:`api.params`.

>>> from api.schemas import CaseIn
>>> CaseIn(category_code="E0502", lon=120.0, lat=30.0).channel
'app'
"""

from __future__ import annotations

# every module lists its names in __all__; this package re-exports them without a second list
from api.schemas import (
    access,
    body,
    cases,
    checks,
    districts,
    exports,
    geocoding,
    grids,
    health,
    jobs,
    layers,
    open311,
    plans,
    plans_workspace,
    search,
)
from api.schemas.access import *  # noqa: F403
from api.schemas.body import *  # noqa: F403
from api.schemas.cases import *  # noqa: F403
from api.schemas.checks import *  # noqa: F403
from api.schemas.districts import *  # noqa: F403
from api.schemas.exports import *  # noqa: F403
from api.schemas.geocoding import *  # noqa: F403
from api.schemas.grids import *  # noqa: F403
from api.schemas.health import *  # noqa: F403
from api.schemas.jobs import *  # noqa: F403
from api.schemas.layers import *  # noqa: F403
from api.schemas.open311 import *  # noqa: F403
from api.schemas.plans import *  # noqa: F403
from api.schemas.plans_workspace import *  # noqa: F403
from api.schemas.search import *  # noqa: F403

_MODULES = (
    access, body, cases, checks, districts, exports, geocoding, grids, health, jobs, layers, open311,
    plans, plans_workspace, search,
)  # fmt: skip
__all__ = sorted(name for module in _MODULES for name in module.__all__)
