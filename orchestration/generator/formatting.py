"""Text of the lines: ISO-8601 UTC times from epoch milliseconds, and compact JSON.

The time formatting is table lookups (no ``strftime``): it runs for every message.
"""

from __future__ import annotations

import datetime as dt
import json

from orchestration.generator.config import _DAY_MS

_PREFIX_CACHE: dict[int, str] = {}
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def _day_prefix(epoch_day: int) -> str:
    p = _PREFIX_CACHE.get(epoch_day)
    if p is None:
        p = dt.date.fromordinal(_EPOCH_ORDINAL + epoch_day).isoformat() + "T"
        _PREFIX_CACHE[epoch_day] = p
    return p


_HHMM = tuple(f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60))
_SS = tuple(f"{sec:02d}." for sec in range(60))
_MS3 = tuple(f"{ms:03d}Z" for ms in range(1000))


def _iso(ms: int) -> str:
    """Epoch milliseconds -> ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (table lookups, no formatting)."""
    d, r = divmod(ms, _DAY_MS)
    p = _PREFIX_CACHE.get(d) or _day_prefix(d)
    mins, r = divmod(r, 60_000)
    sec, r = divmod(r, 1000)
    return p + _HHMM[mins] + _SS[sec] + _MS3[r]


def _q(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
