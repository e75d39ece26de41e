"""One row of the benchmark table, and timing helpers."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Row:
    """`ratio` is ours divided by the baseline (for a throughput: above 1 is faster)."""

    name: str
    value: float
    unit: str
    baseline: float | None
    ratio: float | None
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def row(name: str, value: float, unit: str, baseline: float | None, note: str = "") -> Row:
    ratio = None if not baseline else round(value / baseline, 3)
    return Row(name, round(value, 3), unit, None if baseline is None else round(baseline, 3),
               ratio, note)  # fmt: skip


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
