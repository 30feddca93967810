"""The light traffic profile (`generate(profile="light")`, `cdp generate --profile light`).

The same visitors, visits and journeys as the standard profile -- several page views per
visit, sign-ups and identifies, logins, product tracks and orders, consent, duplicates and
malformed lines -- from the same plan, minus the mobile apps (plan.py skips app visits), and
with the payloads a lean web tracker sends:

* context: the IP, consent when stated, RudderStack's sessionId, the page (path, referrer,
  url) and nothing else: no library, locale, user agent or campaign object (the utm
  parameters stay in the landing page's url, where the session models read them);
* page properties: the title only;
* product properties: product id (and quantity); orders: id, revenue or total, currency.

Identify, alias and group calls and their traits are as in the standard profile: identity
resolution and the customer marts need them. The output is deterministic for a seed, like
the standard profile's; the standard profile's bytes do not depend on this module.
"""

from __future__ import annotations

import random

from orchestration.generator.catalog import _Page
from orchestration.generator.config import _Config
from orchestration.generator.formatting import _q
from orchestration.generator.messages import Sink
from orchestration.generator.people import _Device
from orchestration.generator.render import _Renderer

_ORDER_FIELDS = ("order_id", "revenue", "total", "currency")


class _LightRenderer(_Renderer):
    """`_Renderer` with the light profile's payloads (same randomness, shorter lines)."""

    def _context_head(self, device: _Device) -> str:
        return '"context":{'

    def _page_json(self, path: str, referrer: str, search: str, title: str,
                   url: str) -> tuple[str, str]:
        return (f'{{"path":"{path}","referrer":"{referrer}","url":"{url}"}}',
                f'{{"title":"{title}"}}')

    def _landing(self, logged_in: bool, kind: int, rng: random.Random) -> tuple[_Page, str, str]:
        landing = super()._landing(logged_in, kind, rng)
        self.campaign = ""  # the utm parameters are in the url only
        return landing

    def _product_json(self, idx: int, currency: str, quantity: int | None = None) -> str:
        q = f',"quantity":{quantity}' if quantity is not None else ""
        return f'{{"product_id":"prod_{101 + idx}"{q}}}'

    def _order_body(self, props: dict, products: str) -> str:
        return _q({k: props[k] for k in _ORDER_FIELDS if k in props})


def _renderer(cfg: _Config, sink: Sink) -> _Renderer:
    """The renderer of the configuration's traffic profile."""
    return _LightRenderer(cfg, sink) if cfg.light else _Renderer(cfg, sink)
