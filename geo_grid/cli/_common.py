"""What every command module shares: where output goes and how JSON is printed.

Results go to standard output (a table, a line, or exactly one JSON object with ``--json``);
progress and warnings to standard error, so ``geo-grid ... --json | jq`` always parses.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

__all__ = ["err", "out", "print_json"]

#: Human-readable results (no colour guessed for numbers and paths).
out = Console(highlight=False)
#: Progress and warnings.
err = Console(stderr=True)


def print_json(obj: Any) -> None:
    """One JSON object on one line of standard output (Chinese kept as is; dates as text)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
