"""CPU time of the bench process's threads by the name the operating system shows for them
(the actors name theirs after their kind), read from /proc: Linux only, empty elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

_TASKS = Path("/proc/self/task")
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_by_thread() -> dict[int, tuple[str, float]]:
    """Each live thread's id: (its name, seconds of CPU, user and system, since it started)."""
    found: dict[int, tuple[str, float]] = {}
    if not _TASKS.is_dir():
        return found
    for task in _TASKS.iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # it ended meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(task.name)] = (name, (int(fields[11]) + int(fields[12])) / _TICK)
    return found


def cpu_by_kind(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], kinds: set[str]
) -> dict[str, float]:
    """Seconds of CPU each kind of thread spent between two readings, most first; threads of
    no kind given are "other"."""
    spent: dict[str, float] = {}
    for tid, (name, seconds) in after.items():
        kind = name if name in kinds else "other"
        spent[kind] = spent.get(kind, 0.0) + seconds - before.get(tid, (name, 0.0))[1]
    return dict(sorted(spent.items(), key=lambda item: -item[1]))
