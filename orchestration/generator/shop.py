"""The shopping half of a visit: product views, the cart and checkout with its order, and the
page clock they share with the journeys in render.py (`_Renderer` builds on `_Shop`)."""

from __future__ import annotations

import math
import random

from orchestration.generator.catalog import _P_CART, _P_CHECKOUT, _P_SUCCESS, _PRODUCTS
from orchestration.generator.config import _BROWSE_MS
from orchestration.generator.hashing import _mix64
from orchestration.generator.messages import _Messages
from orchestration.generator.people import _Person

_log = math.log


class _Shop(_Messages):
    """Messages of the shop (products, cart, checkout, order) on top of `_Messages`."""

    def _advance(self, rng: random.Random) -> bool:
        """Move the clock to the next page view; False when the visit must end."""
        dwell = 2_000 + int(-_log(1.0 - rng.random()) * 40_000)  # exponential, mean 40 s
        self.t += min(dwell, 240_000)
        return self.t - self.t0 < _BROWSE_MS

    def _product_json(self, idx: int, currency: str, quantity: int | None = None) -> str:
        sku, name, price, category = _PRODUCTS[idx]
        q = f',"quantity":{quantity}' if quantity is not None else ""
        return (f'{{"category":"{category}","name":"{name}","price":{price},'
                f'"product_id":"prod_{101 + idx}"{q},"sku":"{sku}"}}')

    def _view_product(self, idx: int, currency: str, after_ms: int) -> None:
        """A "Product Viewed" of product ``idx``, ``after_ms`` after the last event."""
        self.track("Product Viewed",
                   self._product_json(idx, currency)[:-1] + f',"currency":"{currency}"}}',
                   after_ms)

    def _add_to_cart(self, idx: int, currency: str, min_ms: int, rng: random.Random) -> None:
        """One or two of product ``idx`` into the cart, ``min_ms`` to 20 s more after the
        last event."""
        qty = 1 if rng.random() < 0.8 else 2
        self.cart.append(idx * 10 + qty)
        props = self._product_json(idx, currency, qty)[:-1] + (
            f',"cart_id":"cart_{self.mid_prefix[4:16]}","currency":"{currency}"}}')
        self.track("Product Added", props, min_ms + int(rng.random() * 20_000))

    def _checkout(self, person: _Person, rng: random.Random, complete: bool,
                  guest: bool = False) -> None:
        rnd = rng.random
        cur = person.currency
        self._advance(rng)
        self.page(_P_CART)
        self._advance(rng)
        self.page(_P_CHECKOUT)
        products = ",".join(self._product_json(x // 10, cur, x % 10) for x in self.cart)
        subtotal = round(sum(_PRODUCTS[x // 10][2] * (x % 10) for x in self.cart), 2)
        checkout_id = f"chk_{self.mid_prefix[16:28]}"
        self.track("Checkout Started",
                   f'{{"checkout_id":"{checkout_id}","currency":"{cur}","products":[{products}],'
                   f'"value":{subtotal}}}', 1_200)
        if not complete:
            return
        if guest:
            self.identify(None, {"email": person.email_variant(rnd()), "first_name": person.first,
                                 "last_name": person.last}, after_ms=30_000 + int(rnd() * 60_000))
        order_id = f"ord_{_mix64(self.mkey ^ self.keys.order):016x}"
        discount = round(subtotal * 0.1, 2) if rnd() < 0.2 else 0.0
        revenue = round(subtotal - discount, 2)
        tax = round(revenue * 0.08, 2)
        shipping = 0.0 if revenue >= 50 else 4.99
        props: dict[str, object] = {"order_id": order_id, "checkout_id": checkout_id}
        if rnd() < 0.15 or guest:  # ~20% of orders carry `total` instead of `revenue`
            props["total"] = round(revenue + tax + shipping, 2)
        else:
            props["revenue"] = revenue
        props.update({"tax": tax, "shipping": shipping, "discount": discount, "currency": cur})
        if discount:
            props["coupon"] = "SPRING10"
        body = self._order_body(props, products)
        self.track("Order Completed", body, 40_000 + int(rnd() * 80_000))
        self._advance(rng)
        self.page(_P_SUCCESS)
