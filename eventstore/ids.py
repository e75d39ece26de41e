"""Time-ordered event ids (UUIDv7 text), so the id index grows at its right edge."""

from __future__ import annotations

import os
import time

_RAND_BITS = 74
_COUNTER_ROOM = 1 << 40  # keeps base + i inside 74 bits for any batch


def new_ids(n: int, now_ns: int | None = None) -> list[str]:
    """`n` UUIDv7 strings, strictly increasing within the call."""
    ms = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    base = int.from_bytes(os.urandom(10)) & ((1 << _RAND_BITS) - 1 - _COUNTER_ROOM)
    out = []
    for i in range(n):
        rand = base + i
        value = (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62)
        value |= rand & ((1 << 62) - 1)
        h = f"{value:032x}"
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out
