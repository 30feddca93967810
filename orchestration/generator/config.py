"""Tunables, codes and the run configuration shared by the planner and the renderer.

Shares are per visit unless stated otherwise. ``_Keys`` holds the sub-keys derived from the
seed, one per purpose, so each kind of randomness has its own independent stream.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestration.generator.hashing import _subkey

_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
_CHUNK = 1024  # customers per planning chunk (fixed: determinism must not depend on it)
_MIN_VISIT_GAP_MS = 2 * _HOUR_MS  # between the starts of two visits of one customer
_BROWSE_MS = 60 * 60_000  # no more browsing after an hour (checkout etc. may follow)
_MAX_SPAN_MS = 2 * _HOUR_MS  # visit + send delay + latency + retry delay, upper bound
_LATE_EXTRA_MS = 2 * _HOUR_MS  # late deliveries arrive late_days days + up to this later
_SKEW_SHARE = 0.03  # device clock skewed: no `timestamp`, shifted originalTimestamp/sentAt
_RECV_ONLY_SHARE = 0.005  # per message: only `receivedAt` present
_LATE_SHARE = 0.005  # visit delivered 1-3 days late
_MIDNIGHT_SHARE = 0.01  # visit starts a minute or two before midnight UTC
_JUNK_VISIT_SHARE = 0.015  # anonymous visit whose messages carry a junk userId
_NEXT_DAY_DUP_VISITS = 0.2  # x duplicate_rate: visits whose messages are retried next day
_ROLE_PERIOD = 200  # customer c % 200 in 0..7 plays a fixed edge case (see _Core)
_PILOT_CUSTOMERS = 1200  # customers rendered to calibrate `events=`
_GZIP_LEVEL = 2  # as fast as 1 on JSON lines, slightly smaller
_FLUSH_LINES = 2048

_PERSONA_BROWSER, _PERSONA_SIGNUP, _PERSONA_BUYER = 0, 1, 2
_VISIT_RATE = (0.07, 0.18, 0.28)  # mean visits per customer per day, by persona

# Visit kinds
_K_BROWSE, _K_SIGNUP, _K_LOGIN, _K_BUY, _K_GUEST_BUY, _K_KIOSK, _K_APP, _K_APP_LOGIN = range(8)
_DEV_APP, _DEV_KIOSK = 14, 15
# Consent codes
_C_NONE, _C_DENIED, _C_GRANTED_ADS, _C_GRANTED_NO_ADS = range(4)
# Traffic profiles: what the messages carry (light.py), not who visits when.
PROFILES = ("standard", "light")


@dataclass(frozen=True)
class _Config:
    seed: int
    days: int
    epoch_day0: int  # days since 1970-01-01 of the first folder
    files_per_day: int
    malformed_rate: float
    duplicate_rate: float
    profile: str = "standard"  # "light": web only, short payloads (see light.py)

    @property
    def light(self) -> bool:
        return self.profile == "light"

    @property
    def horizon_ms(self) -> int:
        return self.days * _DAY_MS

    @property
    def h0_ms(self) -> int:
        return self.epoch_day0 * _DAY_MS


# Purposes of sub-keys derived from the seed.
_KP_CUSTOMER, _KP_DEVICE, _KP_CHUNK, _KP_VISIT, _KP_MSG1, _KP_MSG2 = range(1, 7)
_KP_DAY, _KP_MALFORMED, _KP_ORDER, _KP_DEVICE2, _KP_CUSTOMER2 = range(7, 12)


class _Keys:
    __slots__ = ("customer", "customer2", "device", "device2", "chunk", "visit", "msg1",
                 "msg2", "day", "malformed", "order")

    def __init__(self, seed: int) -> None:
        self.customer = _subkey(seed, _KP_CUSTOMER)
        self.customer2 = _subkey(seed, _KP_CUSTOMER2)
        self.device = _subkey(seed, _KP_DEVICE)
        self.device2 = _subkey(seed, _KP_DEVICE2)
        self.chunk = _subkey(seed, _KP_CHUNK)
        self.visit = _subkey(seed, _KP_VISIT)
        self.msg1 = _subkey(seed, _KP_MSG1)
        self.msg2 = _subkey(seed, _KP_MSG2)
        self.day = _subkey(seed, _KP_DAY)
        self.malformed = _subkey(seed, _KP_MALFORMED)
        self.order = _subkey(seed, _KP_ORDER)
