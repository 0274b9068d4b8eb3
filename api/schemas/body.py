"""What every JSON request body is: strict, closed, integers as JSON Schema reads them.

>>> class Body(JsonBody):
...     version: PositiveInteger
>>> Body(version=3.0).version
3
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

__all__ = ["JsonBody", "PositiveInteger"]


def _integral(value: object) -> object:
    """3.0 as 3: JSON Schema's ``integer`` is any number without a fraction.

    >>> _integral(3.0), _integral(3.5), _integral("3")
    (3, 3.5, '3')
    """
    return int(value) if isinstance(value, float) and value.is_integer() else value


#: A version or generation number in a JSON body, as JSON Schema reads an integer: ``3`` or
#: ``3.0``, never ``"3"`` or ``true``. (The bound goes before the validator: after it, the
#: document would say ``ge`` instead of ``minimum``, which schemathesis found.)
PositiveInteger = Annotated[int, Field(ge=1), BeforeValidator(_integral)]


class JsonBody(BaseModel):
    """A JSON request body: its members and their JSON types exactly as the OpenAPI document
    declares them (``additionalProperties: false``, strict types).

    Pydantic's lax mode took ``0`` for ``false``, ``"3"`` for ``3`` and a number for a time
    (seconds since 1970: the sweep once ran "as of 1969"); schemathesis found both. Times in a
    body are ISO 8601 text read by :mod:`geo_grid.periods`, like those in a query; integers are
    :data:`PositiveInteger` (``3.0`` is one, as JSON Schema says).
    """

    model_config = ConfigDict(extra="forbid", strict=True)
