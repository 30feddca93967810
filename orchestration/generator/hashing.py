"""Seeded hashing: SplitMix64, sub-keys, uuid-like ids, messageId suffixes, picking.

Every customer, device and visit attribute is a hash of ``(seed, purpose, index)``, which
is what makes the output independent of worker count and order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

_M64 = (1 << 64) - 1


def _mix64(x: int) -> int:
    """SplitMix64 finaliser: a bijection on 64-bit integers with good avalanche."""
    x &= _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _seed64(seed: int) -> int:
    """Any Python int (negative, or wider than 64 bits) -> a well-mixed 64-bit key."""
    x = _mix64(0x243F6A8885A308D3 if seed < 0 else 0x13198A2E03707344)
    v = abs(seed)
    while True:
        x = _mix64(x ^ (v & _M64))
        v >>= 64
        if not v:
            return x


def _subkey(seed: int, purpose: int) -> int:
    return _mix64(_seed64(seed) ^ (purpose * 0x9E3779B97F4A7C15 & _M64))


def _uuid_from(a: int, b: int) -> str:
    """A uuid4-formatted string from two 64-bit values."""
    h = f"{a:016x}{b:016x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[b >> 62]}{h[17:20]}-{h[20:32]}"


# messageId suffixes: 8 hex digits each, all distinct. A visit uses 1024 consecutive
# entries from its own offset, so suffixes are unique within a visit (and the prefix,
# a bijection of the visit key, makes the whole id unique).
_MID_SUFFIX = tuple(f"{_mix64(i) & 0xFFFFFFFF:08x}" for i in range(4096 + 1024))

_T = TypeVar("_T")


def _pick(rnd: Callable[[], float], seq: Sequence[_T]) -> _T:
    return seq[int(rnd() * len(seq))]
