"""Customers and their devices: pure functions of ``(seed, customer)``.

Nothing here is stored between planning and rendering: both recompute what they need.
"""

from __future__ import annotations

import bisect
import functools

from orchestration.generator.catalog import (
    _AJS_VERSIONS,
    _APP_VERSIONS,
    _APPS,
    _AREA_CODES,
    _BRAND,
    _CARRIERS,
    _COMPANIES,
    _FIRST_ASCII,
    _FIRST_NAMES,
    _INDUSTRIES,
    _IP_FIRST_OCTETS,
    _LAST_ASCII,
    _LAST_NAMES,
    _LOCALE_CUM,
    _LOCALES,
    _MAIL_DOMAINS,
    _PLANS,
    _RUDDER_SDK,
    _UA_DESKTOP,
    _UA_MOBILE,
    _UA_TABLET,
    _ascii,
)
from orchestration.generator.config import (
    _DEV_APP,
    _DEV_KIOSK,
    _PERSONA_BROWSER,
    _PERSONA_BUYER,
    _PERSONA_SIGNUP,
    _ROLE_PERIOD,
    _Keys,
)
from orchestration.generator.hashing import _mix64, _uuid_from


class _Core:
    """The attributes the planner needs, derived from one hash of the customer."""

    __slots__ = ("persona", "n_devices", "has_app", "app_only", "b2b", "guest_checkout",
                 "alias", "has_phone", "kiosk_role")

    def __init__(self, keys: _Keys, c: int) -> None:
        h = _mix64(keys.customer ^ c)
        u = (h & 0xFFFF) / 65536.0
        persona = _PERSONA_BROWSER if u < 0.55 else _PERSONA_SIGNUP if u < 0.85 else _PERSONA_BUYER
        nd = (h >> 16) & 0xFF
        n_devices = 1 if nd < 141 else 2 if nd < 230 else 3
        known = persona != _PERSONA_BROWSER
        # about one known customer in six also uses the app (and logs in there)
        has_app = known and ((h >> 24) & 0xFF) < 40
        b2b = known and ((h >> 32) & 0xFF) < 64
        guest = persona == _PERSONA_BUYER and ((h >> 40) & 0xFF) < 51
        # Fixed roles so that every data set with a handful of customers has each edge case:
        # 0/1 share a kiosk, 2 uses the app, 3 is B2B, 4 checks out as a guest first,
        # 5 browses with a junk userId on the first visit (see _Renderer.render), 6's first
        # visit is delivered a day late, 7's browser flips its consent (see _plan_customer),
        # 8 only ever uses the app, anonymously.
        role = c % _ROLE_PERIOD
        kiosk_role = 1 if role == 0 else 2 if role == 1 else 0
        if kiosk_role:
            persona = max(persona, _PERSONA_SIGNUP)
        elif role == 2:
            persona, has_app = _PERSONA_BUYER, True
        elif role == 3:
            persona, b2b = _PERSONA_SIGNUP, True
        elif role == 4:
            persona, guest = _PERSONA_BUYER, True
        elif role == 8:
            persona, has_app = _PERSONA_BROWSER, False
        self.persona = persona
        self.n_devices = n_devices
        self.has_app = has_app
        # about one anonymous browser in ten only ever uses the app, never logged in
        self.app_only = role == 8 or (persona == _PERSONA_BROWSER and role > 8
                                      and (_mix64(h ^ 0x9E3779B97F4A7C15) & 0xFF) < 26)
        self.b2b = b2b
        self.guest_checkout = guest
        self.alias = persona != _PERSONA_BROWSER and (((h >> 48) & 0xFF) < 90 or role == 3)
        self.has_phone = ((h >> 56) & 0xFF) < 180
        self.kiosk_role = kiosk_role


def _device_consent_mode(keys: _Keys, c: int, dev: int) -> tuple[int, bool]:
    """(mode, advertising): mode 0 no consent object, 1 denied, 2 flips to granted, 3 granted."""
    h = _mix64(keys.device ^ ((c << 4) | dev))
    u = (h & 0xFFFF) / 65536.0
    mode = 0 if u < 0.08 else 1 if u < 0.13 else 2 if u < 0.15 else 3
    if dev == _DEV_KIOSK:
        mode = 3
    return mode, bool((h >> 16) & 1) and ((h >> 17) & 3) != 0


def _device_owner(c: int, dev: int) -> int:
    """The customer whose device ``dev`` is: the kiosk belongs to the first of its pair."""
    return c - (c % _ROLE_PERIOD) if dev == _DEV_KIOSK else c


class _Device:
    __slots__ = ("anon_id", "ctx_common", "mobile", "ip_base", "app", "session_ids", "carrier")

    def __init__(self, keys: _Keys, c: int, dev: int, locale: str) -> None:
        owner = _device_owner(c, dev)
        h = _mix64(keys.device2 ^ ((owner << 4) | dev))
        h2 = _mix64(h ^ 0x5DEECE66D)
        self.anon_id = _uuid_from(h, h2)
        kind = (h >> 8) & 0xFF
        self.app: tuple[str, ...] | None = None
        lib = _AJS_VERSIONS[(h >> 20) % len(_AJS_VERSIONS)]
        # One browser in ten runs RudderStack's SDK, which sends its own context.sessionId.
        self.session_ids = dev != _DEV_KIOSK and (h2 >> 8) % 10 == 0
        if dev == _DEV_APP:
            self.app = _APPS[(h >> 24) & 1]
            ua = self.app[6]
            self.mobile = True
        elif dev == _DEV_KIOSK or kind < 140:
            ua = _UA_DESKTOP[(h >> 24) % len(_UA_DESKTOP)]
            self.mobile = False
        elif kind < 235:
            ua = _UA_MOBILE[(h >> 24) % len(_UA_MOBILE)]
            self.mobile = True
        else:
            ua = _UA_TABLET[(h >> 24) % len(_UA_TABLET)]
            self.mobile = False
        o1 = _IP_FIRST_OCTETS[(h >> 32) % len(_IP_FIRST_OCTETS)]
        self.ip_base = (o1, (h >> 40) & 0xFF, (h >> 48) & 0xFF, 1 + ((h >> 56) % 254))
        self.carrier = _CARRIERS[(h2 >> 24) % len(_CARRIERS)]
        if self.app is not None:
            libname, libver, osname, osver, model, manu, _ua = self.app
            version, build = _APP_VERSIONS[(h2 >> 16) % len(_APP_VERSIONS)]
            self.ctx_common = (
                f'"app":{{"build":"{build}","name":"{_BRAND}","namespace":"example.acmecloud",'
                f'"version":"{version}"}},"device":{{"manufacturer":"{manu}","model":"{model}",'
                f'"type":"{osname.lower()}"}},"library":{{"name":"{libname}",'
                f'"version":"{libver}"}},"locale":"{locale}","os":{{"name":"{osname}",'
                f'"version":"{osver}"}},"userAgent":"{ua}"'
            )
        else:
            library = (f'"name":"{_RUDDER_SDK[0]}","version":"{_RUDDER_SDK[1]}"'
                       if self.session_ids else f'"name":"analytics.js","version":"{lib}"')
            self.ctx_common = f'"library":{{{library}}},"locale":"{locale}","userAgent":"{ua}"'



class _Person:
    """Everything about a customer that ends up in messages (details computed on demand)."""

    def __init__(self, keys: _Keys, c: int) -> None:
        self.c = c
        self.core = _Core(keys, c)
        self.h = h = _mix64(keys.customer2 ^ c)
        self.user_id = f"u_{c + 1:06d}"
        li = bisect.bisect_left(_LOCALE_CUM, ((h >> 40) & 0xFFFF) / 65536.0)
        self.locale = _LOCALES[li][0]
        self.currency = _LOCALES[li][1]
        self.plan = _PLANS[(h >> 36) % len(_PLANS)]

    @functools.cached_property
    def first(self) -> str:
        return _FIRST_NAMES[self.h % len(_FIRST_NAMES)]

    @functools.cached_property
    def last(self) -> str:
        return _LAST_NAMES[(self.h >> 8) % len(_LAST_NAMES)]

    @functools.cached_property
    def group(self) -> tuple[str, str, str, int] | None:
        """(groupId, company name, industry, employees) of a B2B customer."""
        if not self.core.b2b:
            return None
        company = self.c // 4  # colleagues share a company
        cname = _COMPANIES[company % len(_COMPANIES)]
        nth = company // len(_COMPANIES)
        return (
            f"grp_{company:05d}",
            f"{cname} {nth}" if nth else cname,
            _INDUSTRIES[company % len(_INDUSTRIES)],
            10 * (1 + (_mix64(company) % 500)),
        )

    @functools.cached_property
    def email(self) -> str:
        h, c = self.h, self.c
        if self.group is not None:
            company = c // 4
            nth = company // len(_COMPANIES)
            domain = f"{_ascii(_COMPANIES[company % len(_COMPANIES)])}{nth or ''}.example"
        else:
            domain = _MAIL_DOMAINS[(h >> 16) % len(_MAIL_DOMAINS)]
        fa = _FIRST_ASCII[h % len(_FIRST_NAMES)]
        la = _LAST_ASCII[(h >> 8) % len(_LAST_NAMES)]
        local = (f"{fa}.{la}", f"{fa[0]}{la}", f"{fa}", f"{fa}_{la}")[(h >> 24) % 4]
        # Unique per customer: letters, then digits that are a bijection of c (c < 10**7).
        return f"{local}{(c * 7_919 + 104_729) % 10_000_000}@{domain}"

    def email_variant(self, r: float) -> str:
        """The email as a form would send it: sometimes oddly cased or padded."""
        e = self.email
        if r < 0.80:
            return e
        if r < 0.88:
            local, _, domain = e.partition("@")
            return f"{local.capitalize()}@{domain.capitalize()}"
        if r < 0.94:
            return f" {e} " if r < 0.91 else f"{e} "
        return e.upper()

    def phone(self) -> str | None:
        """A US number, unique per customer, formatted as the customer typed it."""
        if not self.core.has_phone:
            return None
        h, c = self.h, self.c
        local = 2_000_000 + (c * 3_571 + 55_501) % 8_000_000  # a bijection of c < 8M
        d = f"{_AREA_CODES[(h >> 28) % len(_AREA_CODES)]}{local}"
        style = (h >> 32) % 10
        if style < 6:
            return f"+1{d}"
        if style < 9:
            return f"({d[:3]}) {d[3:6]}-{d[6:]}"
        return f"+1 {d[:3]}-{d[3:6]}-{d[6:]}"
