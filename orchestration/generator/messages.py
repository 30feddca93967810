"""One Segment-spec message at a time: the JSON line of a page, track, identify, alias or
group call, its messageId and time fields, and its duplicate copies.

Lines are assembled from pre-serialised fragments (no ``json.dumps`` of a whole dict) and
handed to a sink; `_Renderer` (render.py) drives this class visit by visit.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from orchestration.generator.catalog import _FRAGMENTS, _NAV_QUERIES, _SITE, _Page
from orchestration.generator.config import (
    _DAY_MS,
    _HOUR_MS,
    _NEXT_DAY_DUP_VISITS,
    _RECV_ONLY_SHARE,
    _Config,
    _Keys,
)
from orchestration.generator.formatting import _MS3, _SS, _iso, _q
from orchestration.generator.hashing import _MID_SUFFIX, _pick
from orchestration.generator.people import _Device, _device_owner, _Person

_CONSENT_FRAGMENTS = (
    "",
    ',"consent":{"categoryPreferences":{"Advertising":false,"Analytics":false}}',
    ',"consent":{"categoryPreferences":{"Advertising":true,"Analytics":true}}',
    ',"consent":{"categoryPreferences":{"Advertising":false,"Analytics":true}}',
)

Sink = Callable[[int, int, str, bool], None]


class _Messages:
    """Writes messages of the current visit, handing each line to
    ``sink(recv_ms, file, line, copy)``; the visit state is set by `_Renderer.render`.
    """

    def __init__(self, cfg: _Config, sink: Sink) -> None:
        self.cfg = cfg
        self.keys = _Keys(cfg.seed)
        self.sink = sink
        self.fpd = cfg.files_per_day
        # Retries (same or next file, minutes later) plus next-day redeliveries (see
        # _plan_customer) make up `duplicate_rate` of the messages.
        self.dup_cut = 1.0 - cfg.duplicate_rate * (1.0 - _NEXT_DAY_DUP_VISITS * 0.5)
        self.persons: dict[int, _Person] = {}
        self.devices: dict[tuple[int, int], _Device] = {}
        self.rng = random.Random(0)
        self.rnd = self.rng.random
        self.mid_prefix = ""
        self.mid_base = 0
        self.minute = -1  # cache of the last formatted minute
        self.minute_prefix = ""
        # per-visit state
        self.mkey = 0
        self.mi = 0
        self.aid_part = ""
        self.uid_sfx = ""
        self.ctx = ""
        self.campaign = ""
        self.skew = 0
        self.lat = 0
        self.batched = False
        self.flush_at = 0
        self.dup_next = False
        self.t = 0
        self.t0 = 0
        self.prev_url = ""
        self.page_ctx = ""
        self.page_json = ""
        self.head_ctx = ""
        self.cart: list[int] = []

    # -- cached customers -----------------------------------------------------------
    def person(self, c: int) -> _Person:
        p = self.persons.get(c)
        if p is None:
            if len(self.persons) > 50_000:
                self.persons.clear()
                self.devices.clear()
            p = self.persons[c] = _Person(self.keys, c)
        return p

    def device(self, c: int, dev: int) -> _Device:
        owner = _device_owner(c, dev)
        d = self.devices.get((owner, dev))
        if d is None:
            locale = self.person(owner).locale
            d = self.devices[(owner, dev)] = _Device(self.keys, c, dev, locale)
        return d

    # -- one message ----------------------------------------------------------------
    def emit(self, prefix: str, suffix: str, t: int) -> None:
        """Write a message: ``prefix`` ends with a comma, then messageId and time fields
        are inserted, then ``suffix`` (which starts with a comma and closes the object).

        This is the hot path: one f-string per line, table lookups instead of formatting.
        """
        rnd = self.rnd
        i = self.mi
        self.mi = i + 1
        # Unique: the prefix is a bijection of the visit key, the suffix of i.
        mid = self.mid_prefix + _MID_SUFFIX[self.mid_base + i]
        if self.flush_at:
            sent = self.flush_at + (t - self.t0) // 64
        elif self.batched:
            sent = t + 1_000 + int(rnd() * 29_000)
        else:
            sent = t + 15 + int(rnd() * 400)
        recv = sent + self.lat + int(rnd() * 40)
        u = rnd()
        recv_only = u < _RECV_ONLY_SHARE
        if recv_only:
            times = '"receivedAt":"' + _iso(recv) + '"'
        elif self.skew:
            times = self._times(t, sent, recv)
        else:  # inlined _times: the three times usually share the event's minute
            minute = t // 60_000
            if minute != self.minute:
                self.minute = minute
                self.minute_prefix = _iso(minute * 60_000)[:17]  # YYYY-MM-DDTHH:MM:
            mp = self.minute_prefix
            base = minute * 60_000
            r = t - base
            ts = f"{mp}{_SS[r // 1000]}{_MS3[r % 1000]}"
            r = sent - base
            sent_s = f"{mp}{_SS[r // 1000]}{_MS3[r % 1000]}" if r < 60_000 else _iso(sent)
            r = recv - base
            recv_s = f"{mp}{_SS[r // 1000]}{_MS3[r % 1000]}" if r < 60_000 else _iso(recv)
            times = (f'"originalTimestamp":"{ts}","receivedAt":"{recv_s}","sentAt":"{sent_s}",'
                     f'"timestamp":"{ts}"')
        line = f'{prefix}"messageId":"{mid}",{times}{suffix}'
        fpd = self.fpd
        f = int(rnd() * fpd) if fpd > 1 else 0
        sink = self.sink
        sink(recv, f, line, False)
        retry = u >= self.dup_cut  # (u < _RECV_ONLY_SHARE above: never both)
        if retry or self.dup_next:
            self._retry(prefix, suffix, mid, line, t, sent, recv, f, retry, recv_only)

    def _retry(self, prefix: str, suffix: str, mid: str, line: str, t: int, sent: int,
               recv: int, f: int, retry: bool, recv_only: bool) -> None:
        """Copies of a message just written (its messageId unchanged)."""
        rnd = self.rnd
        fpd = self.fpd
        sink = self.sink
        head = f'{prefix}"messageId":"{mid}",'
        if retry:
            # A retry. Half are byte-identical (same receivedAt); the others arrive up to
            # ten minutes later with sentAt moved by the same amount, so a clock-corrected
            # event time is the same for every copy. Half land in another file.
            f2 = f if rnd() < 0.5 else int(rnd() * fpd)
            if rnd() < 0.5:
                sink(recv, f2, line, True)
            else:
                delay = 1_000 + int(rnd() * 599_000)
                sink(recv + delay, f2,
                     head + self._times(t, sent + delay, recv + delay) + suffix, True)
        if self.dup_next and not recv_only and rnd() < 0.5:
            # Redelivered the next day (a client replaying its queue after a restart).
            recv2 = (recv // _DAY_MS + 1) * _DAY_MS + int(rnd() * 20 * _HOUR_MS)
            delay = recv2 - recv
            sink(recv2, int(rnd() * fpd), head + self._times(t, sent + delay, recv2) + suffix,
                 True)

    def _times(self, t: int, sent: int, recv: int) -> str:
        """The time fields of a message that happened at ``t`` (true time)."""
        skew = self.skew
        if skew:
            return ('"originalTimestamp":"' + _iso(t + skew) + '","receivedAt":"' + _iso(recv)
                    + '","sentAt":"' + _iso(sent + skew) + '"')
        ts = _iso(t)
        # sentAt and receivedAt usually fall in the same second as the event: reuse the text.
        base = t - t % 1000
        sent_s = ts[:20] + _MS3[sent - base] if sent - base < 1000 else _iso(sent)
        recv_s = ts[:20] + _MS3[recv - base] if recv - base < 1000 else _iso(recv)
        return ('"originalTimestamp":"' + ts + '","receivedAt":"' + recv_s + '","sentAt":"'
                + sent_s + '","timestamp":"' + ts + '"')

    # -- message kinds --------------------------------------------------------------
    def page(self, page: _Page, landing_ref: str | None = None, url_suffix: str = "") -> None:
        """A page view at ``self.t``; the page becomes the context of following tracks."""
        rnd = self.rng.random
        path, title, name, _cat = page
        search = ""
        if url_suffix:
            url = f"{_SITE}{path}{url_suffix}"
            search = url_suffix
        else:
            x = rnd()
            if x < 0.06 and path != "/":
                path = path + "/"
                url = _SITE + path
            elif x < 0.10:
                search = _pick(rnd, _NAV_QUERIES)
                url = _SITE + path + search
            elif x < 0.13:
                url = _SITE + path + _pick(rnd, _FRAGMENTS)
            else:
                url = _SITE + path
        referrer = landing_ref if landing_ref is not None else self.prev_url
        self.prev_url = url
        page_json, properties = self._page_json(path, referrer, search, title, url)
        if landing_ref is None:
            self.campaign = ""
        self.page_json = page_json
        self.page_ctx = ""  # built on demand by _context() for the page's other events
        self.emit(f'{self.aid_part}{self.ctx}{self.campaign},"page":{page_json}}},"name":"{name}",',
                  f',"properties":{properties},"type":"page"{self.uid_sfx}', self.t)

    # -- what a profile changes (light.py) ------------------------------------------
    def _page_json(self, path: str, referrer: str, search: str, title: str,
                   url: str) -> tuple[str, str]:
        """(``context.page``, ``properties``) of a page view: the same object, as
        analytics.js sends it."""
        page_json = (f'{{"path":"{path}","referrer":"{referrer}","search":"{search}",'
                     f'"title":"{title}","url":"{url}"}}')
        return page_json, page_json

    def _context_head(self, device: _Device) -> str:
        """``"context":{`` and the device's fields (library, locale, user agent, app, os),
        each followed by a comma."""
        return f'"context":{{{device.ctx_common},'

    def _order_body(self, props: dict, products: str) -> str:
        """The properties of ``Order Completed``: ``props`` and the products."""
        return _q(props)[:-1] + f',"products":[{products}]}}'

    def _context(self) -> str:
        """``"context":{...},`` of the current page (for events other than the page view)."""
        if not self.page_ctx:
            self.page_ctx = f'{self.ctx}{self.campaign},"page":{self.page_json}}},'
            self.head_ctx = self.aid_part + self.page_ctx
        return self.page_ctx

    def track(self, event: str, props: str, after_ms: int) -> None:
        self.t += after_ms
        self._context()
        self.emit(f'{self.head_ctx}"event":"{event}",',
                  f',"properties":{props},"type":"track"{self.uid_sfx}', self.t)

    def identify(self, user_id: str | None, traits: dict, ctx_traits: dict | None = None,
                 after_ms: int = 800) -> None:
        self.t += after_ms
        ctx = self._context()
        if ctx_traits:
            ctx = ctx[:-2] + f',"traits":{_q(ctx_traits)}}},'
        uid = f',"userId":{_q(user_id)}}}' if user_id is not None else self.uid_sfx
        self.emit(f'{self.aid_part}{ctx}', f',"traits":{_q(traits)},"type":"identify"{uid}',
                  self.t)

    def log_in(self, user_id: str) -> None:
        """From here on, the messages of this visit carry ``userId``."""
        self.uid_sfx = f',"userId":"{user_id}"}}'

    def alias(self, user_id: str, previous_id: str) -> None:
        self.t += 300
        self.emit(f'{self.aid_part}{self._context()}',
                  f',"previousId":"{previous_id}","type":"alias","userId":"{user_id}"}}', self.t)

    def group(self, person: _Person) -> None:
        assert person.group is not None
        gid, name, industry, employees = person.group
        traits = _q({"name": name, "industry": industry, "employees": employees,
                     "plan": person.plan})
        self.t += 500
        self.emit(f'{self.aid_part}{self._context()}"groupId":"{gid}",',
                  f',"traits":{traits},"type":"group"{self.uid_sfx}', self.t)
