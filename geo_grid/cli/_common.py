"""What every command module shares: where output goes, how JSON is printed, which district.

Results go to standard output (a table, a line, or exactly one JSON object with ``--json``);
progress and warnings to standard error, so ``geo-grid ... --json | jq`` always parses.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

__all__ = ["DistrictOpt", "district_code", "district_codes", "err", "out", "print_json"]

#: Human-readable results (no colour guessed for numbers and paths).
out = Console(highlight=False)
#: Progress and warnings.
err = Console(stderr=True)


def print_json(obj: Any) -> None:
    """One JSON object on one line of standard output (Chinese kept as is; dates as text)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")


#: ``--district CODE``: which district a command acts on, when the store serves several.
DistrictOpt = Annotated[
    str | None,
    typer.Option(
        "--district",
        help="District code (6 digits, e.g. 420102); needed when the store serves several.",
    ),
]


def district_code(requested: str | None) -> str:
    """The district a write acts on: ``--district``, or the store's only one (several: exit 2
    naming them)."""
    from geo_grid.services import districts

    return districts.pick(None, requested).code


def district_codes(requested: str | None) -> list[str] | None:
    """The districts a read shows: ``--district`` (checked), or None for every district."""
    from geo_grid.services import districts

    return None if requested is None else districts.readable(None, requested)
