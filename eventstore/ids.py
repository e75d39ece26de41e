"""Time-ordered event ids (UUIDv7 text), so the id index grows at its right edge."""

from __future__ import annotations

import os
import time

_RAND_B = (1 << 62) - 1
_HEADROOM = 1 << 40  # room to count up within one call without carrying into rand_a


def new_ids(n: int, now_ns: int | None = None) -> list[str]:
    """`n` UUIDv7 strings sharing one millisecond and rand_a, strictly increasing in rand_b."""
    ms = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    rand = int.from_bytes(os.urandom(10))
    rand_a = rand >> 68
    base = (rand & _RAND_B) % (_RAND_B - _HEADROOM)
    head = f"{ms:012x}7{rand_a:03x}"
    prefix = f"{head[:8]}-{head[8:12]}-{head[12:16]}-"
    out = []
    for i in range(n):
        tail = f"{(0b10 << 62) | (base + i):016x}"
        out.append(f"{prefix}{tail[:4]}-{tail[4:]}")
    return out


_ORDERED32 = "0123456789abcdefghjkmnpqrstvwxyz"


def short_id(prefix: str, now_ns: int | None = None) -> str:
    """`prefix` + 16 characters: 48 bits of milliseconds then 32 random bits, sortable by time."""
    ms = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    value = (ms << 32) | int.from_bytes(os.urandom(4))
    chars = [_ORDERED32[(value >> shift) & 31] for shift in range(75, -1, -5)]
    return prefix + "".join(chars)
