"""The plan: which customer visits when, on which device, doing what, and how each visit
is delivered (late, retried the next day, clock skewed, batched at midnight).

Customers are planned in fixed chunks of ``_CHUNK`` customers, each from its own seeded
RNG. A visit is packed into one Python int, so millions of visits are cheap to hold, sort
and send to workers::

    v = t0 << 64 | c << 32 | vno << 20 | dev << 16 | kind << 12 | flags

flags: bit 0 logged in, bits 1-2 consent code, bits 3-4 late days, bit 5 next-day retries,
bits 6-8 spill days (how many days after its own the visit can deliver lines), bit 9
batched sending (midnight visits), bit 10 clock skewed.
"""

from __future__ import annotations

import bisect
import random

from orchestration.generator.catalog import _HOUR_CUM
from orchestration.generator.config import (
    _C_DENIED,
    _C_GRANTED_ADS,
    _C_GRANTED_NO_ADS,
    _C_NONE,
    _CHUNK,
    _DAY_MS,
    _DEV_APP,
    _DEV_KIOSK,
    _HOUR_MS,
    _K_APP,
    _K_APP_LOGIN,
    _K_BROWSE,
    _K_BUY,
    _K_GUEST_BUY,
    _K_KIOSK,
    _K_LOGIN,
    _K_SIGNUP,
    _LATE_EXTRA_MS,
    _LATE_SHARE,
    _MAX_SPAN_MS,
    _MIDNIGHT_SHARE,
    _MIN_VISIT_GAP_MS,
    _NEXT_DAY_DUP_VISITS,
    _PERSONA_BROWSER,
    _PERSONA_BUYER,
    _ROLE_PERIOD,
    _SKEW_SHARE,
    _VISIT_RATE,
    _Config,
    _Keys,
)
from orchestration.generator.hashing import _M64, _mix64
from orchestration.generator.people import _Core, _device_consent_mode


def _pack(t0: int, c: int, vno: int, dev: int, kind: int, flags: int) -> int:
    return (t0 << 64) | (c << 32) | (vno << 20) | (dev << 16) | (kind << 12) | flags


def _spill_days(v: int) -> int:
    return (v >> 6) & 7


def _visit_rng(keys: _Keys, v: int) -> random.Random:
    """The visit's own RNG (seeded by its customer, number, device, kind and flags), so it
    renders identically in every day task that re-renders it."""
    return random.Random(_mix64(keys.visit ^ (v & _M64)))


def _tod(r: random.Random) -> int:
    hour = bisect.bisect_left(_HOUR_CUM, r.random())
    return hour * _HOUR_MS + int(r.random() * _HOUR_MS)


def _plan_chunk(cfg: _Config, chunk: int, n_customers: int) -> list[int]:
    """Visits of customers ``chunk*_CHUNK .. min(+_CHUNK, n_customers)`` (packed ints)."""
    keys = _Keys(cfg.seed)
    r = random.Random(_mix64(keys.chunk ^ chunk))
    out: list[int] = []
    first = chunk * _CHUNK
    for c in range(first, min(first + _CHUNK, n_customers)):
        _plan_customer(cfg, keys, r, c, out)
    return out


def _plan_customer(cfg: _Config, keys: _Keys, r: random.Random, c: int, out: list[int]) -> None:
    core = _Core(keys, c)
    days = cfg.days
    horizon = cfg.horizon_ms
    rnd = r.random
    role = c % _ROLE_PERIOD
    n = 1 + int(r.expovariate(1.0) * _VISIT_RATE[core.persona] * days)
    n = min(n, 400) if role not in (4, 7) else max(n, 2)
    # Some customers are around for the whole period, others for a week or so.
    if rnd() < 0.5:
        w0, wlen = 0.0, float(horizon)
    else:
        w0 = rnd() * horizon
        wlen = min(horizon - w0, (1 + rnd() * 9) * _DAY_MS)
    # visit: [t0, dev, kind, logged_in]
    visits: list[list[int]] = []
    for _ in range(n):
        day = min(int((w0 + rnd() * wlen) // _DAY_MS), days - 1)
        midnight = rnd() < _MIDNIGHT_SHARE
        tod = _DAY_MS - 5_000 - int(rnd() * 115_000) if midnight else _tod(r)
        visits.append([day * _DAY_MS + tod, 0, _K_BROWSE, 0])
    visits.sort()
    nd = core.n_devices if role != 7 else 1
    for i in range(1, n):
        if nd > 1 and rnd() >= 0.55:
            visits[i][1] = 1 + int(rnd() * (nd - 1))
    if core.app_only and not cfg.light:  # every visit in the app, never logged in
        for vis in visits:
            vis[1], vis[2] = _DEV_APP, _K_APP
    if role == 6:  # the first visit is delivered a day late (and within the period)
        visits[0][0] %= _DAY_MS
        visits.sort()

    kiosk = core.kiosk_role
    if kiosk:
        # The kiosk owner (role 1) signs up early and logs in on the kiosk in the middle of
        # the period; the second user (role 2) signs up early and logs in on it later.
        visits[0][0] = int(rnd() * 0.3 * horizon)
        visits.sort()
    signup_at = -1
    if core.persona != _PERSONA_BROWSER:
        signup_at = 0 if kiosk else min(n - 1, int(rnd() * 3))
        if core.guest_checkout and n >= 2:
            signup_at = max(signup_at, 1)
        visits[signup_at][1] = 0
        visits[signup_at][2] = _K_SIGNUP  # logged in from here on (flag: at the visit start)
        if core.guest_checkout and signup_at >= 1:
            visits[signup_at - 1][2] = _K_GUEST_BUY
        logged = {0}
        bought = False
        for i in range(signup_at + 1, n):
            vis = visits[i]
            if vis[1] in logged:
                vis[3] = 1
                if core.persona == _PERSONA_BUYER and rnd() < 0.45:
                    vis[2] = _K_BUY
                    bought = True
            else:
                vis[2] = _K_LOGIN
                logged.add(vis[1])
        if core.persona == _PERSONA_BUYER and not bought:
            later = [vis for vis in visits[signup_at + 1:] if vis[2] == _K_BROWSE]
            if later:
                later[-1][2] = _K_BUY
            else:
                t = visits[signup_at][0] + _HOUR_MS + int(rnd() * 47 * _HOUR_MS)
                if t < horizon:
                    visits.append([t, 0, _K_BUY, 1])
        signup_t = visits[signup_at][0]
        if core.has_app and not cfg.light:  # light traffic is web only
            app_visits = []
            for _ in range(1 + int(rnd() * 4)):
                day = int(rnd() * days)
                app_visits.append(day * _DAY_MS + _tod(r))
            app_visits.sort()
            first_after = True
            for t in app_visits:
                if t > signup_t:
                    visits.append([t, _DEV_APP, _K_APP_LOGIN if first_after else _K_APP,
                                   0 if first_after else 1])
                    first_after = False
                else:
                    visits.append([t, _DEV_APP, _K_APP, 0])
        if kiosk:
            lo, hi = (0.3, 0.45) if kiosk == 1 else (0.6, 0.75)
            t = int((lo + rnd() * (hi - lo)) * horizon)
            visits.append([max(t, signup_t + 60_000), _DEV_KIOSK, _K_KIOSK, 0])
    visits.sort()
    # A person does one thing at a time: visits start at least two hours apart (pushing
    # later ones keeps their order; those pushed past the period are dropped).
    for i in range(1, len(visits)):
        earliest = visits[i - 1][0] + _MIN_VISIT_GAP_MS
        if visits[i][0] < earliest:
            visits[i][0] = earliest + int(rnd() * _HOUR_MS)
    visits = [vis for vis in visits if vis[0] < horizon]

    # Consent: a device keeps its choice; "flip" devices deny first and grant from their
    # second visit on.
    seen: dict[int, int] = {}
    modes: dict[int, tuple[int, bool]] = {}
    dup_next_p = _NEXT_DAY_DUP_VISITS * cfg.duplicate_rate
    for vno, (t0, dev, kind, logged_in) in enumerate(visits):
        if dev not in modes:
            modes[dev] = _device_consent_mode(keys, c, dev)
            if role == 7 and dev == 0:
                modes[dev] = (2, modes[dev][1])
        mode, ads = modes[dev]
        k = seen.get(dev, 0)
        seen[dev] = k + 1
        if mode == 0:
            consent = _C_NONE
        elif mode == 1 or (mode == 2 and k == 0):
            consent = _C_DENIED
        else:
            consent = _C_GRANTED_ADS if ads else _C_GRANTED_NO_ADS
        late = 1 + int(rnd() * 3) if rnd() < _LATE_SHARE else 0
        if role == 6 and vno == 0:
            late = 1
        dup_next = 1 if rnd() < dup_next_p else 0
        skewed = 1 if rnd() < _SKEW_SHARE else 0
        tod = t0 % _DAY_MS
        batched = 1 if tod >= _DAY_MS - 180_000 else 0
        max_recv = tod + _MAX_SPAN_MS + (late * _DAY_MS + _LATE_EXTRA_MS if late else 0)
        spill = min(7, max_recv // _DAY_MS + dup_next)
        flags = (logged_in | consent << 1 | late << 3 | dup_next << 5 | spill << 6
                 | batched << 9 | skewed << 10)
        out.append(_pack(t0, c, vno, dev, kind, flags))


def _plan_chunk_task(args: tuple[_Config, int, int]) -> list[int]:
    return _plan_chunk(*args)
