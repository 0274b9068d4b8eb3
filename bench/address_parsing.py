"""Per-field precision, recall and F1 of the address parser on real addresses typed by people.

The addresses are public test cases and annotation examples of other Chinese address parsers,
hand-labelled for this project's fields (``data/address_parsing/real_addresses.tsv``, sources in
``data/README.md``), not output of our demo generator. ``dev`` rows were used to tune the parser,
``test`` rows (about 40 %, picked by a hash of the text) only to measure it.

``python bench/address_parsing.py [--split all|dev|test] [--errors N]`` prints the table (the
national gazetteer comes from the data cache, fetched at set-up). For reference, the neural parser
of Li & Lu (NAACL 2019) reaches about 90 % F1 on its own labelled set.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo_grid.address import parse  # noqa: E402
from geo_grid.testing import (  # noqa: E402
    PARSED_FIELDS,
    district_gazetteer,
    field_scores,
    labelled_addresses,
)

__all__ = ["evaluate"]


def evaluate(split: str = "all"):
    """``(scores, rows)``: the per-field table and the rows with their predictions."""
    rows = labelled_addresses()
    if split != "all":
        rows = rows[rows["split"] == split]
    gazetteer = district_gazetteer("320113")
    predicted = [parse(text, gazetteer=gazetteer).to_dict() for text in rows["text"]]
    rows = rows.assign(predicted=predicted)
    return field_scores(rows["labels"].tolist(), predicted), rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("all", "dev", "test"), default="all")
    parser.add_argument("--errors", type=int, default=0, help="print this many wrong rows")
    args = parser.parse_args()
    start = time.perf_counter()
    scores, rows = evaluate(args.split)
    elapsed = time.perf_counter() - start
    print(f"{len(rows)} labelled real addresses ({args.split}), {elapsed:.1f} s with the gazetteer")
    table = scores.copy()
    for col in ("precision", "recall", "f1"):
        table[col] = (100 * table[col].astype(float)).round(1)
    print(table[["precision", "recall", "f1", "support"]].to_string())
    shown = 0
    for row in rows.itertuples():
        wrong = {
            f: (row.labels.get(f), row.predicted.get(f))
            for f in PARSED_FIELDS
            if (row.labels.get(f) or None) != (row.predicted.get(f) or None)
        }
        if wrong and shown < args.errors:
            print(f"\n{row.text}\n  (label, parsed): {wrong}")
            shown += 1


if __name__ == "__main__":
    main()
