"""Turning planned visits into messages: the web journeys (landing, browsing, sign-up,
login, cart and checkout) and the app sessions, with the randomness of each visit.
"""

from __future__ import annotations

import math
import random

from orchestration.generator.catalog import (
    _CAMPAIGNS,
    _EMAIL_REFERRERS,
    _NEXT,
    _OTHER_REFERRERS,
    _P_ACCOUNT,
    _P_DOC_PAGES,
    _P_FEATURES,
    _P_HOME,
    _P_LOGIN,
    _P_POSTS,
    _P_PRICING,
    _P_PRODUCT_PAGES,
    _P_SIGNUP,
    _PRODUCT_BY_PATH,
    _PRODUCTS,
    _SCREENS,
    _SEARCH_REFERRERS,
    _SOCIAL_REFERRERS,
    JUNK_EMAILS,
    JUNK_USER_IDS,
    _Page,
)
from orchestration.generator.config import (
    _DAY_MS,
    _DEV_APP,
    _HOUR_MS,
    _JUNK_VISIT_SHARE,
    _K_APP_LOGIN,
    _K_BROWSE,
    _K_BUY,
    _K_GUEST_BUY,
    _K_KIOSK,
    _K_LOGIN,
    _K_SIGNUP,
    _LATE_EXTRA_MS,
    _PERSONA_BROWSER,
    _ROLE_PERIOD,
)
from orchestration.generator.formatting import _iso, _q
from orchestration.generator.hashing import _mix64, _pick
from orchestration.generator.messages import _CONSENT_FRAGMENTS
from orchestration.generator.people import _Device, _Person
from orchestration.generator.shop import _Shop

_log = math.log
_JSON_BOOL = {True: "true", False: "false"}


class _Renderer(_Shop):
    """Turns packed visits into JSON lines, handing each to ``sink(recv_ms, file, line, copy)``.

    All randomness of a visit comes from one RNG (the day's stream, or the visit's own for
    spill visits), so a visit renders identically wherever it is rendered.
    """

    # -- a visit --------------------------------------------------------------------
    def render(self, v: int, rng: random.Random) -> None:
        cfg = self.cfg
        flags = v & 0xFFF
        kind = (v >> 12) & 0xF
        dev = (v >> 16) & 0xF
        vno = (v >> 20) & 0xFFF
        c = (v >> 32) & 0xFFFFFFFF
        t0 = cfg.h0_ms + (v >> 64)
        logged_in = bool(flags & 1)
        self.rng = rng
        self.rnd = rnd = rng.random
        person = self.person(c)
        device = self.device(c, dev)
        self.mkey = mkey = (c << 24) | (vno << 10)
        self.mi = 0
        h1 = _mix64(mkey ^ self.keys.msg1)
        h2 = _mix64(mkey ^ self.keys.msg2)
        self.mid_prefix = f"msg-{h1:016x}{h2 >> 32:08x}"
        self.mid_base = h2 & 4095
        self.t0 = self.t = t0
        self.lat = 40 + int(rnd() * 900)
        self.batched = bool(flags & (1 << 9))
        late = (flags >> 3) & 3
        self.flush_at = (t0 + late * _DAY_MS + int(rnd() * _LATE_EXTRA_MS * 0.5)) if late else 0
        self.dup_next = bool(flags & (1 << 5))
        if flags & (1 << 10):
            sign = 1 if rnd() < 0.6 else -1
            self.skew = sign * (120_000 + int(rnd() * 8 * _HOUR_MS))
        else:
            self.skew = 0
        self.aid_part = f'{{"anonymousId":"{device.anon_id}",'
        if logged_in:
            self.log_in(person.user_id)
        elif dev != _DEV_APP and (rnd() < _JUNK_VISIT_SHARE
                                  or (c % _ROLE_PERIOD == 5 and vno == 0)):
            self.uid_sfx = f',"userId":{_q(_pick(rnd, JUNK_USER_IDS))}}}'
        elif dev == _DEV_APP:
            self.uid_sfx = "}"
        else:
            self.uid_sfx = ',"userId":null}'
        a, b, cc, d = device.ip_base
        if device.mobile:
            cc, d = int(rnd() * 256), 1 + int(rnd() * 254)
        consent = _CONSENT_FRAGMENTS[(flags >> 1) & 3]
        self.ctx = f'{self._context_head(device)}"ip":"{a}.{b}.{cc}.{d}"{consent}'
        if device.app is not None:  # a phone on Wi-Fi, else on its carrier's network
            on_wifi = rnd() < 0.65
            self.ctx += (f',"network":{{"carrier":"{device.carrier}","cellular":'
                         f'{_JSON_BOOL[not on_wifi]},"wifi":{_JSON_BOOL[on_wifi]}}}')
        if device.session_ids:  # RudderStack: the session start on the device clock, in ms
            self.ctx += f',"sessionId":{t0 + self.skew}'
        self.campaign = ""
        self.prev_url = ""
        self.cart = []
        if device.app is not None:
            self._app_visit(person, kind, rng)
        else:
            self._web_visit(person, device, kind, logged_in, rng)
            if c % _ROLE_PERIOD == 5 and vno == 0:  # and a form posting junk
                self.identify(None, {"email": _pick(rnd, JUNK_EMAILS)}, after_ms=3_000)

    def _landing(self, logged_in: bool, kind: int, rng: random.Random) -> tuple[_Page, str, str]:
        """(landing page, referrer, query string with utm parameters) of a session."""
        rnd = rng.random
        x = rnd()
        if logged_in or kind in (_K_LOGIN, _K_KIOSK):
            x *= 0.55  # returning users mostly come direct or from search
        if x < 0.30:
            if kind in (_K_LOGIN, _K_KIOSK):
                page = _P_LOGIN if rnd() < 0.6 else _P_HOME
            elif logged_in:
                page = _P_ACCOUNT if rnd() < 0.4 else _P_HOME
            else:
                page = _P_HOME if rnd() < 0.7 else _P_PRICING
            return page, "", ""
        if x < 0.55:
            ref = _pick(rnd, _SEARCH_REFERRERS)
            y = rnd()
            if y < 0.3:
                page = _P_HOME
            elif y < 0.55:
                page = _pick(rnd, _P_POSTS)
            elif y < 0.7:
                page = _pick(rnd, _P_DOC_PAGES)
            elif y < 0.85:
                page = _P_PRICING
            else:
                page = _pick(rnd, _P_PRODUCT_PAGES)
            return page, ref, ""
        if x < 0.63:
            return _pick(rnd, _P_POSTS), _pick(rnd, _SOCIAL_REFERRERS), ""
        if x < 0.68:
            page = _pick(rnd, _P_POSTS) if rnd() < 0.5 else _pick(rnd, _P_PRODUCT_PAGES)
            return page, _pick(rnd, _EMAIL_REFERRERS), ""
        if x < 0.75:
            y = rnd()
            page = _pick(rnd, _P_POSTS) if y < 0.4 else _P_HOME if y < 0.75 else _P_FEATURES
            return page, _pick(rnd, _OTHER_REFERRERS), ""
        src, medium, name, term, content, ref = _pick(rnd, _CAMPAIGNS)
        y = rnd()
        if y < 0.35:
            page = _P_PRICING
        elif y < 0.55:
            page = _P_HOME
        elif y < 0.7:
            page = _P_FEATURES
        else:
            page = _pick(rnd, _P_PRODUCT_PAGES)
        query = f"?utm_source={src}&utm_medium={medium}&utm_campaign={name}"
        camp = f'"medium":"{medium}","name":"{name}","source":"{src}"'
        if term:
            query += "&utm_term=" + term.replace(" ", "+")
            camp += f',"term":"{term}"'
        if content:
            query += "&utm_content=" + content
            camp += f',"content":"{content}"'
        if src == "google" and rnd() < 0.7:
            query += f"&gclid=EAIaIQobChMI{int(rnd() * 1e12):012d}"
        self.campaign = f',"campaign":{{{camp}}}'
        return page, ref, query

    def _walk_next(self, page: _Page, rng: random.Random) -> _Page:
        options = _NEXT.get(page[3], _NEXT["home"])
        nxt = _pick(rng.random, options)
        if nxt == "post":
            return _pick(rng.random, _P_POSTS)
        if nxt == "doc":
            return _pick(rng.random, _P_DOC_PAGES)
        if nxt == "product":
            return _pick(rng.random, _P_PRODUCT_PAGES)
        assert not isinstance(nxt, str)
        return nxt

    def _on_page(self, page: _Page, person: _Person, allow_add: bool,
                 rng: random.Random) -> None:
        """Track events fired on a page (product views, add to cart)."""
        idx = _PRODUCT_BY_PATH.get(page[0])
        if idx is None:
            return
        self._view_product(idx, person.currency, 300 + int(rng.random() * 1_500))
        if allow_add and rng.random() < 0.35:
            self._add_to_cart(idx, person.currency, 2_000, rng)

    def _browse(self, person: _Person, page: _Page, n_pages: int, shop: bool,
                rng: random.Random) -> _Page:
        for _ in range(n_pages):
            if not self._advance(rng):
                break
            page = self._walk_next(page, rng)
            self.page(page)
            self._on_page(page, person, shop, rng)
        return page

    def _web_visit(self, person: _Person, device: _Device, kind: int, logged_in: bool,
                   rng: random.Random) -> None:
        rnd = rng.random
        core = person.core
        landing, ref, utm = self._landing(logged_in, kind, rng)
        shop = core.persona != _PERSONA_BROWSER or rnd() < 0.3
        if kind == _K_BROWSE:
            bounce = rnd() < (0.25 if logged_in else 0.38)
            n_pages = 0 if bounce else 1 + min(10, int(rng.expovariate(1 / 3.5)))
        else:
            n_pages = int(rnd() * 4)
        self.page(landing, ref, utm)
        if kind == _K_BROWSE and n_pages == 0 and landing[3] != "product":
            return  # a bounce: one page view, nothing else
        self._on_page(landing, person, shop and n_pages > 0, rng)
        page = self._browse(person, landing, n_pages, shop, rng)

        if kind == _K_BROWSE:
            if self.cart and rnd() < 0.3:
                self._checkout(person, rng, complete=False)
            elif not logged_in and rnd() < 0.03:
                # A newsletter form: usually a real address, sometimes junk.
                email = (_pick(rnd, JUNK_EMAILS) if rnd() < 0.4
                         else person.email_variant(rnd()))
                self.identify(None, {"email": email}, after_ms=5_000)
            elif logged_in and core.b2b and rnd() < 0.05:
                self.group(person)
        elif kind == _K_SIGNUP:
            self._advance(rng)
            if page is not _P_PRICING and rnd() < 0.5:
                self.page(_P_PRICING)
                self._advance(rng)
            self.page(_P_SIGNUP)
            uid = person.user_id
            self.t += 20_000 + int(rnd() * 60_000)
            if core.alias:
                self.alias(uid, device.anon_id)
            traits: dict[str, object] = {
                "email": person.email_variant(rnd()),
                "name": f"{person.first} {person.last}",
                "first_name": person.first,
                "last_name": person.last,
            }
            phone = person.phone()
            if phone:
                traits["phone"] = phone
            traits["plan"] = person.plan
            traits["created_at"] = _iso(self.t)[:19] + "Z"
            self.log_in(uid)
            if rnd() < 0.1:  # some trackers send the email in context.traits only
                self.identify(uid, {k: v for k, v in traits.items() if k != "email"},
                              {"email": traits["email"]}, after_ms=200)
            else:
                self.identify(uid, traits, after_ms=200)
            method = ("email", "email", "google", "github")[int(rnd() * 4)]
            self.track("Signed Up", f'{{"method":"{method}","plan":"{person.plan}"}}', 150)
            if core.b2b:
                self.group(person)
            self._advance(rng)
            self.page(_P_ACCOUNT)
            self._browse(person, _P_ACCOUNT, int(rnd() * 3), shop, rng)
        elif kind in (_K_LOGIN, _K_KIOSK):
            self._login(person, page, kind, rng)
            self._browse(person, _P_ACCOUNT, int(rnd() * 4), shop, rng)
        elif kind in (_K_BUY, _K_GUEST_BUY):
            if not self.cart:
                self._advance(rng)
                prod = _pick(rnd, _P_PRODUCT_PAGES)
                self.page(prod)
                idx = _PRODUCT_BY_PATH[prod[0]]
                self._view_product(idx, person.currency, 900)
                self._add_to_cart(idx, person.currency, 4_000, rng)
            self._checkout(person, rng, complete=True, guest=kind == _K_GUEST_BUY)

    def _login(self, person: _Person, page: _Page, kind: int, rng: random.Random) -> None:
        rnd = rng.random
        if page is not _P_LOGIN:
            self._advance(rng)
            self.page(_P_LOGIN)
        uid = person.user_id
        self.log_in(uid)
        x = rnd()
        email = person.email_variant(rnd())
        traits: dict[str, object] = {}
        ctx_traits: dict[str, object] | None = None
        if kind != _K_KIOSK and x < 0.05:  # a login form that lost the address
            traits = {"email": _pick(rnd, JUNK_EMAILS)}
        elif kind == _K_KIOSK or x < 0.6:
            traits = {"email": email}
        elif x < 0.85:
            ctx_traits = {"email": email}
        self.identify(uid, traits, ctx_traits, after_ms=8_000 + int(rnd() * 20_000))
        self._advance(rng)
        self.page(_P_ACCOUNT)

    def _app_visit(self, person: _Person, kind: int, rng: random.Random) -> None:
        rnd = rng.random
        self.page_ctx = self.ctx + "},"
        self.head_ctx = self.aid_part + self.page_ctx
        n = 1 + int(rnd() * 6)
        for i in range(n):
            if i:
                self.t += 3_000 + int(rnd() * 60_000)
            name = _SCREENS[0] if i == 0 else _pick(rnd, _SCREENS)
            self.emit(f'{self.aid_part}{self.page_ctx}"name":"{name}",',
                      f',"properties":{{"name":"{name}"}},"type":"screen"{self.uid_sfx}',
                      self.t)
            if name in ("Device Detail", "Store") and rnd() < 0.5:
                # a product looked at in the app: a track event with the app's context
                self._view_product(int(rnd() * len(_PRODUCTS)), person.currency,
                                   1_000 + int(rnd() * 5_000))
            if i == 0 and kind == _K_APP_LOGIN:
                email = person.email_variant(rnd())
                if rnd() < 0.3:
                    self.identify(person.user_id, {}, {"email": email}, after_ms=5_000)
                else:
                    self.identify(person.user_id, {"email": email}, after_ms=5_000)
                self.log_in(person.user_id)
