"""Progress of the long coverage steps: a tqdm bar on the command line, a callback elsewhere.

>>> seen = []
>>> step = progress_reporter(lambda stage, done, total: seen.append((stage, done, total)), 2, "x")
>>> step("edges"); step("gaps")
>>> seen
[('edges', 1, 2), ('gaps', 2, 2)]
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["Progress", "progress_reporter"]

#: What ``check_coverage`` and ``fix_coverage`` accept as ``progress``.
Progress = bool | Callable[[str, int, int], object] | None


def progress_reporter(progress: Progress, total: int, desc: str) -> Callable[[str], None]:
    """Turn the ``progress`` argument into a ``step(stage_name)`` function.

    ``True`` draws a tqdm bar on stderr (the CLI's "progress bar on big layers"); a callable is
    called as ``progress(stage, done, total)`` so the API or a notebook can forward it; None/False
    is silent.
    """
    if not progress:
        return lambda stage: None
    if callable(progress):
        state = {"done": 0}

        def call(stage: str) -> None:
            state["done"] += 1
            progress(stage, state["done"], total)

        return call
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=desc, unit="step", leave=False)

    def tick(stage: str) -> None:
        bar.set_postfix_str(stage)
        bar.update(1)
        if bar.n >= total:
            bar.close()

    return tick
