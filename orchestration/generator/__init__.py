"""Deterministic generator of realistic Segment-spec event dumps.

`generate()` writes what a Segment / RudderStack pipeline would drop in a bucket:
``out/YYYY-MM-DD/events-NNN.jsonl.gz``, one folder per UTC day of ``receivedAt``,
``files_per_day`` gzip'd JSON-lines files per folder, one Segment-spec message per line.

How it works (and why it is fast and deterministic):

1. **Plan.** Customers are planned in fixed chunks of ``_CHUNK`` customers, each chunk
   from its own seeded RNG: persona, devices, visit times, which visit is the sign-up,
   the logins on other devices, the orders, consent changes, late/duplicated deliveries.
   A visit is packed into one Python int (start time, customer, visit number, device,
   kind, flags), so millions of visits are cheap to hold, sort and send to workers.
   Customer attributes (name, email, devices, user agent, ...) are pure functions of
   ``(seed, customer)`` and are recomputed where needed instead of being stored.
2. **Render.** One task per received day turns the day's visits into JSON lines built
   from pre-serialised fragments (no per-event ``json.dumps`` of a whole dict) and
   streams them into gzip writers. Visits that can deliver lines after midnight
   (evening visits, late deliveries, next-day retries) are "spill" visits: they get a
   per-visit RNG so the next days' tasks can re-render them identically and keep the
   lines received on their own day. All other visits share the day's RNG.

The output therefore depends only on the arguments, never on ``workers`` or timing;
with an explicit ``start`` it is byte-for-byte reproducible (gzip headers carry no name
or mtime; the compressed bytes are those of the local zlib).

What the data looks like (what a loader or model author can rely on):

* Valid lines: ``type`` in identify/track/page/screen/alias/group, a ``messageId``
  (``msg-`` + 32 hex) and a ``receivedAt`` whose UTC date is the folder name.
  ``timestamp``, when present, is the true event time and equals ``originalTimestamp``.
  About 3% of messages come from a skewed device clock: no ``timestamp``, and
  ``originalTimestamp``/``sentAt`` both shifted by minutes to hours, so the event time is
  ``originalTimestamp + (receivedAt - sentAt)``. About 0.5% carry only ``receivedAt``.
  About 0.5% of visits arrive 1-3 days late (``sentAt``/``receivedAt`` late), and
  visits just before midnight are partly received after it; messages received after
  the last day are not written at all (so a late sign-up may be missing its identify).
* Duplicates share the messageId and every field except ``receivedAt``/``sentAt``:
  byte-identical copies, or later copies with both moved by the same delay (the
  clock-corrected time is the same for every copy); in the same file, another file of
  the day, or the next day's folder. A copy is never received before the original.
* Malformed lines (`MALFORMED_KINDS`, made from real messages, with fresh messageIds):
  truncated JSON, the message in a JSON array, the message double-encoded as a JSON
  string, no ``type``, ``"type": "pageview"``, no ``messageId``, no time field at all,
  every time field ``"not-a-date"``.
* Identity: ``userId`` ``u_NNNNNN``; ``anonymousId`` uuid4-like, one per browser/app;
  logged-in devices send ``userId`` on every message after the identify (or alias) that
  logged them in. Emails are unique per customer, sometimes sent with upper case or
  surrounding spaces, in ``traits.email`` or only in ``context.traits.email``; phones
  are unique per customer in three formats. Junk values: `JUNK_USER_IDS`, `JUNK_EMAILS`.
  Customers c and c+1 with c % 200 == 0 share a kiosk browser (c logs in on it first);
  B2B users send ``group`` calls (``grp_NNNNN``); app users send ``screen`` calls (no
  ``context.page``, ``analytics-ios``/``analytics-android`` library). One browser in ten
  runs RudderStack's SDK and sends an integer ``context.sessionId`` (ms) per visit.
  Visits of one customer start at least two hours apart.
* Orders: ``Order Completed`` with a unique ``order_id`` and either ``revenue`` or (about
  one in five) ``total``, never both; ``currency``; ``products``.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import functools
import json
import math
import multiprocessing
import os
import random
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

__all__ = ["GenerateStats", "MALFORMED_KINDS", "JUNK_USER_IDS", "JUNK_EMAILS", "generate"]

# ---------------------------------------------------------------------------------------
# Public result
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerateStats:
    """What `generate` wrote. ``lines == events + duplicates + malformed``."""

    days: int
    files: int
    lines: int
    events: int  # distinct valid messages
    duplicates: int  # extra copies of a valid message (same messageId)
    malformed: int  # lines a loader must quarantine
    customers: int

    def as_dict(self) -> dict:
        return asdict(self)


# Kinds of malformed lines, in the order they are cycled through.
MALFORMED_KINDS: tuple[str, ...] = (
    "truncated_json",  # a valid message cut short: not valid JSON
    "json_array",  # the message wrapped in a JSON array: not an object
    "json_string",  # the message double-encoded as a JSON string: not an object
    "missing_type",  # an object without "type"
    "unknown_type",  # "type": "pageview"
    "missing_message_id",  # an object without "messageId"
    "no_time",  # no timestamp, originalTimestamp, sentAt or receivedAt at all
    "garbage_time",  # every time field is "not-a-date"
)

# Junk identifier values sprinkled on some messages; none of them may link anything.
JUNK_USER_IDS: tuple[str, ...] = (
    "null", "undefined", "0", "none", "[object Object]", "anonymous", "",
)
JUNK_EMAILS: tuple[str, ...] = ("", "none", "null", "undefined", "noemail@noemail.com")

# ---------------------------------------------------------------------------------------
# Tunables (shares are per visit unless stated otherwise)
# ---------------------------------------------------------------------------------------

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

_M64 = (1 << 64) - 1
_log = math.log

# ---------------------------------------------------------------------------------------
# Reference data. Every string here is JSON-safe (no quotes, backslashes or control
# characters), so lines can be assembled from them with f-strings.
# ---------------------------------------------------------------------------------------

_SITE = "https://www.acmecloud.example"
_BRAND = "Acme Cloud"

_STATIC_PAGES: dict[str, str] = {
    "/": "Home",
    "/pricing": "Pricing",
    "/features": "Features",
    "/about": "About",
    "/contact": "Contact",
    "/blog": "Blog",
    "/docs": "Docs",
    "/products": "Products",
    "/cart": "Cart",
    "/checkout": "Checkout",
    "/checkout/success": "Order Confirmation",
    "/signup": "Sign Up",
    "/login": "Log In",
    "/account": "Account",
    "/account/billing": "Billing",
}
_BLOG_SLUGS = (
    "how-we-cut-cold-starts-in-half", "edge-caching-explained", "zero-downtime-deploys",
    "postgres-vs-sqlite-for-side-projects", "release-notes-2026-09", "observability-on-a-budget",
    "migrating-from-heroku", "our-new-pricing", "security-best-practices", "scaling-websockets",
    "building-a-status-page", "cdn-for-beginners", "serverless-gotchas", "cost-of-idle-servers",
    "why-we-love-duckdb", "customer-story-globex", "customer-story-initech", "automating-backups",
    "dns-propagation-myths", "rate-limiting-patterns",
)
_DOCS = (
    "getting-started/installation", "getting-started/quickstart", "getting-started/configuration",
    "getting-started/cli", "api/authentication", "api/events", "api/webhooks", "api/errors",
    "api/rate-limits", "guides/custom-domains", "guides/environment-variables",
    "guides/deploy-from-github", "guides/rollbacks", "billing/invoices", "billing/plans",
)
# sku, name, price, category
_PRODUCTS: tuple[tuple[str, str, float, str], ...] = (
    ("ACM-HUB-01", "Acme Hub", 129.00, "Hardware"),
    ("ACM-SNS-02", "Acme Sensor Kit", 59.90, "Hardware"),
    ("ACM-CAM-03", "Acme Cam Mini", 89.00, "Hardware"),
    ("ACM-PLG-04", "Smart Plug (2-pack)", 34.99, "Hardware"),
    ("ACM-BRG-05", "Acme Bridge", 49.00, "Hardware"),
    ("ACM-STO-10", "Extra Storage 100 GB", 4.99, "Add-ons"),
    ("ACM-STO-11", "Extra Storage 1 TB", 19.99, "Add-ons"),
    ("ACM-SUP-12", "Priority Support", 29.00, "Add-ons"),
    ("ACM-DOM-13", "Custom Domain", 12.00, "Add-ons"),
    ("ACM-SSL-14", "Wildcard SSL", 49.00, "Add-ons"),
    ("ACM-TEE-20", "Acme T-Shirt", 24.00, "Merch"),
    ("ACM-HOD-21", "Acme Hoodie", 54.00, "Merch"),
    ("ACM-MUG-22", "Acme Mug", 14.50, "Merch"),
    ("ACM-STK-23", "Sticker Pack", 5.00, "Merch"),
    ("ACM-CAP-24", "Acme Cap", 19.00, "Merch"),
    ("ACM-KIT-30", "Starter Bundle", 199.00, "Bundles"),
    ("ACM-KIT-31", "Home Bundle", 349.00, "Bundles"),
    ("ACM-KIT-32", "Office Bundle", 599.00, "Bundles"),
    ("ACM-CRS-40", "Cloud Course", 79.00, "Training"),
    ("ACM-WSH-41", "Team Workshop", 499.00, "Training"),
    ("ACM-GFT-50", "Gift Card 50", 50.00, "Gift Cards"),
)

# Traffic sources for a session's landing page.
_SEARCH_REFERRERS = (
    "https://www.google.com/", "https://www.google.com/", "https://www.google.com/",
    "https://www.google.co.uk/", "https://www.google.de/", "https://www.bing.com/",
    "https://duckduckgo.com/", "https://search.yahoo.com/", "https://www.ecosia.org/",
)
_SOCIAL_REFERRERS = (
    "https://www.facebook.com/", "https://l.facebook.com/", "https://t.co/",
    "https://www.linkedin.com/", "https://www.reddit.com/", "https://www.instagram.com/",
    "https://www.youtube.com/",
)
_EMAIL_REFERRERS = ("https://mail.google.com/", "https://outlook.live.com/")
_OTHER_REFERRERS = (
    "https://news.ycombinator.com/", "https://dev.to/", "https://github.com/",
    "https://stackoverflow.com/questions/tagged/deployment", "https://medium.com/",
    "https://www.g2.com/products/acme-cloud/reviews", "https://www.producthunt.com/",
    "https://partner-blog.example/best-hosting-2026",
)
# source, medium, name (utm_campaign), term, content, referrer
_CAMPAIGNS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("google", "cpc", "brand_search", "acme cloud", "", "https://www.google.com/"),
    ("google", "cpc", "spring_sale", "cloud hosting", "ad_variant_a", "https://www.google.com/"),
    ("google", "cpc", "spring_sale", "cheap vps", "ad_variant_b", "https://www.google.com/"),
    ("bing", "cpc", "brand_search", "acme cloud", "", "https://www.bing.com/"),
    ("facebook", "paid_social", "Spring_Sale", "", "carousel", "https://l.facebook.com/"),
    ("linkedin", "paid_social", "b2b_launch", "", "sponsored_post", "https://www.linkedin.com/"),
    ("newsletter", "email", "weekly_digest", "", "hero_button", ""),
    ("newsletter", "email", "product_update_oct", "", "footer_link", "https://mail.google.com/"),
    ("partner_x", "referral", "partner_program", "", "", "https://partner-x.example/"),
    ("twitter", "social", "launch_week", "", "thread", "https://t.co/"),
)
_NAV_QUERIES = ("?ref=nav", "?ref=footer", "?lang=en", "?ref=banner", "?source=app")
_FRAGMENTS = ("#top", "#faq", "#pricing-table", "#details", "#get-started")

_UA_DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.0.0 Safari/537.36",
)
_UA_MOBILE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/123.0.6312.118 Mobile Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 16_7_7 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1",
)
_UA_TABLET = (
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Safari/537.36",
)
_AJS_VERSIONS = ("next-1.70.0", "next-1.72.1", "next-1.74.0")
_RUDDER_SDK = ("RudderLabs JavaScript SDK", "3.7.6")
_APPS = (  # library, version, os name, os version, device model, manufacturer, UA
    ("analytics-ios", "4.1.8", "iOS", "17.4.1", "iPhone15,2", "Apple",
     "Acme/3.2.1 (iPhone; iOS 17.4.1; Scale/3.00)"),
    ("analytics-android", "4.11.3", "Android", "14", "Pixel 8", "Google",
     "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/AP1A.240405.002)"),
)
_SCREENS = ("Home", "Devices", "Device Detail", "Store", "Cart", "Settings", "Notifications")
# locale, currency, weight
_LOCALES = (
    ("en-US", "USD", 45), ("en-GB", "GBP", 15), ("de-DE", "EUR", 10), ("fr-FR", "EUR", 8),
    ("es-ES", "EUR", 6), ("nl-NL", "EUR", 5), ("en-CA", "USD", 5), ("it-IT", "EUR", 3),
    ("pt-BR", "USD", 3),
)
_IP_FIRST_OCTETS = (
    24, 31, 37, 46, 62, 66, 71, 73, 76, 81, 86, 92, 98, 99, 104, 174, 185, 212, 213, 217,
)
_FIRST_NAMES = (
    "Anna", "James", "Maria", "Liam", "Sofia", "Noah", "Emma", "Lucas", "Olivia", "Mateo",
    "Chloé", "Jonas", "Zoë", "Ethan", "Mia", "Léa", "Oliver", "Ava", "Elias", "Isabella",
    "Hannah", "Jack", "Amelia", "Finn", "Charlotte", "Leon", "Grace", "Ben", "Julia", "Omar",
    "Priya", "Wei", "Yuki", "Sven", "Ingrid", "José", "Fatima", "Aisha", "Mohammed", "Kai",
)
_LAST_NAMES = (
    "Smith", "Johnson", "Müller", "Garcia", "Martin", "Rossi", "Dubois", "Jansen", "Brown",
    "Nguyen", "O'Brien", "Schmidt", "López", "Wilson", "Taylor", "Andersson", "Kowalski",
    "Novak", "Silva", "Khan", "Patel", "Kim", "Tanaka", "Fischer", "Moreau", "Bianchi",
    "de Vries", "Murphy", "Evans", "Walker", "Hughes", "Weber", "Larsen", "Costa", "Chen",
)
_MAIL_DOMAINS = (
    "gmail.com", "gmail.com", "gmail.com", "gmail.com", "yahoo.com", "outlook.com",
    "hotmail.com", "icloud.com", "proton.me", "gmx.de", "web.de", "orange.fr",
)
_COMPANIES = (
    "Globex", "Initech", "Umbrella", "Hooli", "Vandelay Industries", "Stark Industries",
    "Wayne Enterprises", "Soylent", "Tyrell", "Cyberdyne", "Wonka", "Gringotts", "Pied Piper",
    "Massive Dynamic", "Oscorp", "Aperture", "Black Mesa", "Monarch", "Nakatomi", "Duff",
)
_INDUSTRIES = (
    "Software", "Retail", "Manufacturing", "Healthcare", "Finance", "Education", "Media",
    "Logistics",
)
_PLANS = ("free", "free", "starter", "pro", "pro", "team")
_AREA_CODES = ("212", "312", "415", "512", "617", "646", "718", "206", "303", "404")


def _ascii(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalpha())


_FIRST_ASCII = tuple(_ascii(n) for n in _FIRST_NAMES)
_LAST_ASCII = tuple(_ascii(n) for n in _LAST_NAMES)


def _title_from_slug(slug: str) -> str:
    return slug.replace("-", " ").capitalize()


# A page: (path, title, name, category)
_Page = tuple[str, str, str, str]


def _static(path: str) -> _Page:
    name = _STATIC_PAGES[path]
    title = f"{_BRAND} - {name}" if path == "/" else f"{name} | {_BRAND}"
    return (path, title, name, path.strip("/").split("/")[0] or "home")


_P_HOME = _static("/")
_P_PRICING = _static("/pricing")
_P_FEATURES = _static("/features")
_P_ABOUT = _static("/about")
_P_CONTACT = _static("/contact")
_P_BLOG = _static("/blog")
_P_DOCS = _static("/docs")
_P_PRODUCTS = _static("/products")
_P_CART = _static("/cart")
_P_CHECKOUT = _static("/checkout")
_P_SUCCESS = _static("/checkout/success")
_P_SIGNUP = _static("/signup")
_P_LOGIN = _static("/login")
_P_ACCOUNT = _static("/account")
_P_BILLING = _static("/account/billing")
_P_POSTS: tuple[_Page, ...] = tuple(
    (f"/blog/{s}", f"{_title_from_slug(s)} | {_BRAND} Blog", "Blog Post", "post")
    for s in _BLOG_SLUGS
)
_P_DOC_PAGES: tuple[_Page, ...] = tuple(
    (f"/docs/{d}", f"{_title_from_slug(d.split('/')[1])} | {_BRAND} Docs", "Docs", "doc")
    for d in _DOCS
)
_P_PRODUCT_PAGES: tuple[_Page, ...] = tuple(
    (f"/products/{sku.lower()}", f"{name} | {_BRAND}", "Product", "product")
    for sku, name, _price, _cat in _PRODUCTS
)
_PRODUCT_BY_PATH = {p[0]: i for i, p in enumerate(_P_PRODUCT_PAGES)}

# Where a visitor goes next, by the category of the current page.
_NEXT: dict[str, tuple[_Page | str, ...]] = {
    "home": (_P_PRICING, _P_FEATURES, _P_PRODUCTS, _P_BLOG, _P_DOCS, "post", "product",
             _P_ABOUT, _P_PRICING),
    "pricing": (_P_FEATURES, _P_HOME, "doc", _P_CONTACT, _P_PRODUCTS, _P_SIGNUP),
    "features": (_P_PRICING, "doc", _P_HOME, _P_PRODUCTS, "post"),
    "about": (_P_HOME, _P_CONTACT, _P_BLOG, _P_PRICING),
    "contact": (_P_HOME, _P_PRICING, _P_ABOUT),
    "blog": ("post", "post", "post", _P_HOME),
    "post": ("post", "post", _P_BLOG, _P_HOME, _P_PRICING, _P_FEATURES, "product"),
    "docs": ("doc", "doc", "doc", _P_PRICING),
    "doc": ("doc", "doc", "doc", _P_DOCS, _P_PRICING, _P_HOME),
    "products": ("product", "product", "product", _P_HOME),
    "product": ("product", "product", _P_PRODUCTS, _P_HOME, _P_CART, _P_PRICING),
    "cart": (_P_PRODUCTS, "product", _P_HOME, _P_CHECKOUT),
    "checkout": (_P_CART, _P_HOME, _P_PRODUCTS),
    "signup": (_P_PRICING, _P_HOME, _P_FEATURES),
    "login": (_P_ACCOUNT, _P_HOME),
    "account": (_P_BILLING, _P_PRODUCTS, "doc", _P_HOME, _P_PRICING, "product"),
}
_NEXT["checkout/success"] = (_P_ACCOUNT, _P_HOME, _P_PRODUCTS)

# Hour-of-day weights (UTC) of visit starts: Europe in the morning, the Americas later.
_HOUR_WEIGHTS = (
    2, 1.5, 1.2, 1, 1, 1.2, 2, 3, 4, 5, 5.5, 5.5, 5.5, 6, 7, 7.5, 7.5, 7, 6.5, 6, 5, 4, 3.5, 2.5,
)
_HOUR_CUM: list[float] = []
_acc = 0.0
for _w in _HOUR_WEIGHTS:
    _acc += _w
    _HOUR_CUM.append(_acc / sum(_HOUR_WEIGHTS))
_HOUR_CUM[-1] = 1.0

_LOCALE_CUM: list[float] = []
_acc = 0.0
for _loc in _LOCALES:
    _acc += _loc[2]
    _LOCALE_CUM.append(_acc / sum(w for _l, _c, w in _LOCALES))
_LOCALE_CUM[-1] = 1.0

# ---------------------------------------------------------------------------------------
# Hashing, ids and time formatting
# ---------------------------------------------------------------------------------------


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


# messageId suffixes: 8 hex digits each, all distinct. A visit uses 1024 consecutive
# entries from its own offset, so suffixes are unique within a visit (and the prefix,
# a bijection of the visit key, makes the whole id unique).
_MID_SUFFIX = tuple(f"{_mix64(i) & 0xFFFFFFFF:08x}" for i in range(4096 + 1024))

_T = TypeVar("_T")


def _pick(rnd: Callable[[], float], seq: Sequence[_T]) -> _T:
    return seq[int(rnd() * len(seq))]


def _q(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# ---------------------------------------------------------------------------------------
# Configuration shared by planner and renderer
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Config:
    seed: int
    days: int
    epoch_day0: int  # days since 1970-01-01 of the first folder
    files_per_day: int
    malformed_rate: float
    duplicate_rate: float

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


# ---------------------------------------------------------------------------------------
# Customers and devices: pure functions of (seed, customer)
# ---------------------------------------------------------------------------------------


class _Core:
    """The attributes the planner needs, derived from one hash of the customer."""

    __slots__ = ("persona", "n_devices", "has_app", "b2b", "guest_checkout", "alias",
                 "has_phone", "kiosk_role")

    def __init__(self, keys: _Keys, c: int) -> None:
        h = _mix64(keys.customer ^ c)
        u = (h & 0xFFFF) / 65536.0
        persona = _PERSONA_BROWSER if u < 0.55 else _PERSONA_SIGNUP if u < 0.85 else _PERSONA_BUYER
        nd = (h >> 16) & 0xFF
        n_devices = 1 if nd < 141 else 2 if nd < 230 else 3
        known = persona != _PERSONA_BROWSER
        has_app = known and ((h >> 24) & 0xFF) < 15
        b2b = known and ((h >> 32) & 0xFF) < 64
        guest = persona == _PERSONA_BUYER and ((h >> 40) & 0xFF) < 51
        # Fixed roles so that every data set with a handful of customers has each edge case:
        # 0/1 share a kiosk, 2 uses the app, 3 is B2B, 4 checks out as a guest first,
        # 5 browses with a junk userId on the first visit (see _Renderer.render), 6's first
        # visit is delivered a day late, 7's browser flips its consent (see _plan_customer).
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
        self.persona = persona
        self.n_devices = n_devices
        self.has_app = has_app
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


class _Device:
    __slots__ = ("anon_id", "ctx_common", "mobile", "ip_base", "app", "session_ids")

    def __init__(self, keys: _Keys, c: int, dev: int, locale: str) -> None:
        owner = c - (c % _ROLE_PERIOD) if dev == _DEV_KIOSK else c
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
        if self.app is not None:
            libname, libver, osname, osver, model, manu, _ua = self.app
            self.ctx_common = (
                f'"app":{{"build":"321","name":"{_BRAND}","namespace":"example.acmecloud",'
                f'"version":"3.2.1"}},"device":{{"manufacturer":"{manu}","model":"{model}",'
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


# ---------------------------------------------------------------------------------------
# Planning: visits packed into ints
# ---------------------------------------------------------------------------------------
# v = t0 << 64 | c << 32 | vno << 20 | dev << 16 | kind << 12 | flags
# flags: bit 0 logged in, bits 1-2 consent code, bits 3-4 late days, bit 5 next-day retries,
#        bits 6-8 spill days (how many days after its own the visit can deliver lines),
#        bit 9 batched sending (midnight visits), bit 10 clock skewed.


def _pack(t0: int, c: int, vno: int, dev: int, kind: int, flags: int) -> int:
    return (t0 << 64) | (c << 32) | (vno << 20) | (dev << 16) | (kind << 12) | flags


def _spill_days(v: int) -> int:
    return (v >> 6) & 7


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
        if core.has_app:
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


# ---------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------

_CONSENT_FRAGMENTS = (
    "",
    ',"consent":{"categoryPreferences":{"Advertising":false,"Analytics":false}}',
    ',"consent":{"categoryPreferences":{"Advertising":true,"Analytics":true}}',
    ',"consent":{"categoryPreferences":{"Advertising":false,"Analytics":true}}',
)

Sink = Callable[[int, int, str, bool], None]


class _Renderer:
    """Turns packed visits into JSON lines, handing each to ``sink(recv_ms, file, line, copy)``.

    All randomness of a visit comes from one RNG (the day's stream, or the visit's own for
    spill visits), so a visit renders identically wherever it is rendered.
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
        owner = c - (c % _ROLE_PERIOD) if dev == _DEV_KIOSK else c
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
                search = _NAV_QUERIES[int(rnd() * len(_NAV_QUERIES))]
                url = _SITE + path + search
            elif x < 0.13:
                url = _SITE + path + _FRAGMENTS[int(rnd() * len(_FRAGMENTS))]
            else:
                url = _SITE + path
        referrer = landing_ref if landing_ref is not None else self.prev_url
        self.prev_url = url
        page_json = (f'{{"path":"{path}","referrer":"{referrer}","search":"{search}",'
                     f'"title":"{title}","url":"{url}"}}')
        if landing_ref is None:
            self.campaign = ""
        self.page_json = page_json
        self.page_ctx = ""  # built on demand by _context() for the page's other events
        self.emit(f'{self.aid_part}{self.ctx}{self.campaign},"page":{page_json}}},"name":"{name}",',
                  f',"properties":{page_json},"type":"page"{self.uid_sfx}', self.t)

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
            self.uid_sfx = f',"userId":"{person.user_id}"}}'
        elif dev != _DEV_APP and (rnd() < _JUNK_VISIT_SHARE
                                  or (c % _ROLE_PERIOD == 5 and vno == 0)):
            self.uid_sfx = f',"userId":{_q(JUNK_USER_IDS[int(rnd() * len(JUNK_USER_IDS))])}}}'
        elif dev == _DEV_APP:
            self.uid_sfx = "}"
        else:
            self.uid_sfx = ',"userId":null}'
        a, b, cc, d = device.ip_base
        if device.mobile:
            cc, d = int(rnd() * 256), 1 + int(rnd() * 254)
        consent = _CONSENT_FRAGMENTS[(flags >> 1) & 3]
        self.ctx = f'"context":{{{device.ctx_common},"ip":"{a}.{b}.{cc}.{d}"{consent}'
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

    def _advance(self, rng: random.Random) -> bool:
        """Move the clock to the next page view; False when the visit must end."""
        dwell = 2_000 + int(-_log(1.0 - rng.random()) * 40_000)  # exponential, mean 40 s
        self.t += min(dwell, 240_000)
        return self.t - self.t0 < _BROWSE_MS

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
        nxt = options[int(rng.random() * len(options))]
        if nxt == "post":
            return _pick(rng.random, _P_POSTS)
        if nxt == "doc":
            return _pick(rng.random, _P_DOC_PAGES)
        if nxt == "product":
            return _pick(rng.random, _P_PRODUCT_PAGES)
        assert not isinstance(nxt, str)
        return nxt

    def _product_json(self, idx: int, currency: str, quantity: int | None = None) -> str:
        sku, name, price, category = _PRODUCTS[idx]
        q = f',"quantity":{quantity}' if quantity is not None else ""
        return (f'{{"category":"{category}","name":"{name}","price":{price},'
                f'"product_id":"prod_{101 + idx}"{q},"sku":"{sku}"}}')

    def _on_page(self, page: _Page, person: _Person, allow_add: bool,
                 rng: random.Random) -> None:
        """Track events fired on a page (product views, add to cart)."""
        idx = _PRODUCT_BY_PATH.get(page[0])
        if idx is None:
            return
        cur = person.currency
        pj = self._product_json(idx, cur)
        self.track("Product Viewed", pj[:-1] + f',"currency":"{cur}"}}',
                   300 + int(rng.random() * 1_500))
        if allow_add and rng.random() < 0.35:
            qty = 1 if rng.random() < 0.8 else 2
            self.cart.append(idx * 10 + qty)
            props = self._product_json(idx, cur, qty)[:-1] + (
                f',"cart_id":"cart_{self.mid_prefix[4:16]}","currency":"{cur}"}}')
            self.track("Product Added", props, 2_000 + int(rng.random() * 20_000))

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
            self.uid_sfx = f',"userId":"{uid}"}}'
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
                prod = _P_PRODUCT_PAGES[int(rnd() * len(_P_PRODUCT_PAGES))]
                self.page(prod)
                idx = _PRODUCT_BY_PATH[prod[0]]
                self.track("Product Viewed", self._product_json(idx, person.currency)[:-1]
                           + f',"currency":"{person.currency}"}}', 900)
                qty = 1 if rnd() < 0.8 else 2
                self.cart.append(idx * 10 + qty)
                props = self._product_json(idx, person.currency, qty)[:-1] + (
                    f',"cart_id":"cart_{self.mid_prefix[4:16]}","currency":"{person.currency}"}}')
                self.track("Product Added", props, 4_000 + int(rnd() * 20_000))
            self._checkout(person, rng, complete=True, guest=kind == _K_GUEST_BUY)

    def _login(self, person: _Person, page: _Page, kind: int, rng: random.Random) -> None:
        rnd = rng.random
        if page is not _P_LOGIN:
            self._advance(rng)
            self.page(_P_LOGIN)
        uid = person.user_id
        self.uid_sfx = f',"userId":"{uid}"}}'
        x = rnd()
        email = person.email_variant(rnd())
        if kind != _K_KIOSK and x < 0.05:  # a login form that lost the address
            self.identify(uid, {"email": _pick(rnd, JUNK_EMAILS)},
                          after_ms=8_000 + int(rnd() * 20_000))
        elif kind == _K_KIOSK or x < 0.6:
            self.identify(uid, {"email": email}, after_ms=8_000 + int(rnd() * 20_000))
        elif x < 0.85:
            self.identify(uid, {}, {"email": email}, after_ms=8_000 + int(rnd() * 20_000))
        else:
            self.identify(uid, {}, after_ms=8_000 + int(rnd() * 20_000))
        self._advance(rng)
        self.page(_P_ACCOUNT)

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
        body = _q(props)[:-1] + f',"products":[{products}]}}'
        self.track("Order Completed", body, 40_000 + int(rnd() * 80_000))
        self._advance(rng)
        self.page(_P_SUCCESS)

    def _app_visit(self, person: _Person, kind: int, rng: random.Random) -> None:
        rnd = rng.random
        self.page_ctx = self.ctx + "},"
        self.head_ctx = self.aid_part + self.page_ctx
        n = 1 + int(rnd() * 6)
        for i in range(n):
            if i:
                self.t += 3_000 + int(rnd() * 60_000)
            name = _SCREENS[0] if i == 0 else _SCREENS[int(rnd() * len(_SCREENS))]
            self.emit(f'{self.aid_part}{self.page_ctx}"name":"{name}",',
                      f',"properties":{{"name":"{name}"}},"type":"screen"{self.uid_sfx}',
                      self.t)
            if i == 0 and kind == _K_APP_LOGIN:
                email = person.email_variant(rnd())
                if rnd() < 0.3:
                    self.identify(person.user_id, {}, {"email": email}, after_ms=5_000)
                else:
                    self.identify(person.user_id, {"email": email}, after_ms=5_000)
                self.uid_sfx = f',"userId":"{person.user_id}"}}'


# ---------------------------------------------------------------------------------------
# Malformed lines
# ---------------------------------------------------------------------------------------


def _malformed_line(kind: str, source: str, new_mid: str, rng: random.Random) -> str:
    """A line a loader must quarantine, made from a valid ``source`` line."""
    msg = json.loads(source)
    msg["messageId"] = new_mid
    if kind == "truncated_json":
        text = _q(msg)
        return text[: 10 + int(rng.random() * (len(text) - 12))]
    if kind == "json_array":
        return _q([msg])
    if kind == "json_string":
        return _q(_q(msg))
    if kind == "missing_type":
        del msg["type"]
    elif kind == "unknown_type":
        msg["type"] = "pageview"
    elif kind == "missing_message_id":
        del msg["messageId"]
    elif kind == "no_time":
        for key in ("timestamp", "originalTimestamp", "sentAt", "receivedAt"):
            msg.pop(key, None)
    elif kind == "garbage_time":
        for key in ("timestamp", "originalTimestamp", "sentAt", "receivedAt"):
            msg[key] = "not-a-date"
    return _q(msg)


# ---------------------------------------------------------------------------------------
# Day task: render and write one received day
# ---------------------------------------------------------------------------------------


class _GzipWriter:
    """Streams lines into ``<final>`` through a hidden temp file, renamed on close.

    Compression runs on ``pool`` (one thread shared by the day's files, so each stream is
    compressed in order); zlib releases the GIL, so it overlaps with rendering.
    """

    def __init__(self, final: Path, pool: ThreadPoolExecutor) -> None:
        self.final = final
        self.tmp = final.with_name(f".{final.name}.{os.getpid()}.tmp")
        self.fh = open(self.tmp, "wb")  # noqa: SIM115 - closed in close()/abort()
        # wbits 31: gzip container; zlib writes mtime 0 and no file name (reproducible).
        self.z = zlib.compressobj(_GZIP_LEVEL, zlib.DEFLATED, 31)
        self.buf: list[str] = []
        self.pool = pool
        self.pending: Future[None] | None = None

    def _write(self, data: bytes, last: bool) -> None:
        self.fh.write(self.z.compress(data))
        if last:
            self.fh.write(self.z.flush())

    def add(self, line: str) -> None:
        self.buf.append(line)
        if len(self.buf) >= _FLUSH_LINES:
            self.flush()

    def flush(self, last: bool = False) -> None:
        if self.buf:
            self.buf.append("")
            data = "\n".join(self.buf).encode()
            self.buf.clear()  # (the same list: the day's sink appends to it directly)
        else:
            data = b""
        if self.pending is not None:
            self.pending.result()  # at most one block in flight per file: bounded memory
        self.pending = self.pool.submit(self._write, data, last)

    def close(self) -> None:
        self.flush(last=True)
        assert self.pending is not None
        self.pending.result()
        self.fh.close()
        os.replace(self.tmp, self.final)

    def abort(self) -> None:
        if self.pending is not None:
            self.pending.cancel()
            with contextlib.suppress(BaseException):
                self.pending.result()
        self.fh.close()
        self.tmp.unlink(missing_ok=True)


def _render_day(cfg: _Config, out: Path, d: int, visits: list[int],
                spill: list[int]) -> tuple[int, int, int]:
    """Write day ``d``; return (events, duplicates, malformed)."""
    keys = _Keys(cfg.seed)
    folder = out / _day_prefix(cfg.epoch_day0 + d)[:10]
    folder.mkdir(parents=True, exist_ok=True)
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cdp-gzip")
    writers = [_GzipWriter(folder / f"events-{i:03d}.jsonl.gz", pool)
               for i in range(cfg.files_per_day)]
    lo = cfg.h0_ms + d * _DAY_MS
    hi = lo + _DAY_MS
    counts = [0, 0, 0]
    mal_rng = random.Random(_mix64(keys.malformed ^ d))
    p_mal = cfg.malformed_rate / (1.0 - cfg.malformed_rate)  # per written line: a share of all
    mal_state = [0]
    kinds = len(MALFORMED_KINDS)
    bufs = [w.buf for w in writers]
    mal_random = mal_rng.random

    def sink(recv: int, f: int, line: str, copy: bool) -> None:
        if lo <= recv < hi:
            buf = bufs[f]
            buf.append(line)
            if len(buf) >= _FLUSH_LINES:
                writers[f].flush()
            counts[copy] += 1
            if mal_random() < p_mal:
                j = mal_state[0]
                mal_state[0] = j + 1
                k = (1 << 62) | (d << 32) | j
                mid = f"msg-{_mix64(k ^ keys.msg1):016x}{_mix64(k ^ keys.msg2):016x}"
                kind = MALFORMED_KINDS[(d + j) % kinds]
                writers[int(mal_random() * len(writers))].add(
                    _malformed_line(kind, line, mid, mal_rng))
                counts[2] += 1

    def strict_sink(recv: int, f: int, line: str, copy: bool) -> None:
        if not lo <= recv < hi:  # pragma: no cover - guards the spill bookkeeping
            raise RuntimeError(f"non-spill visit delivered outside its day: {line[:200]}")
        sink(recv, f, line, copy)

    renderer = _Renderer(cfg, sink)
    day_rng = random.Random(_mix64(keys.day ^ d))
    try:
        for v in spill:
            renderer.render(v, random.Random(_mix64(keys.visit ^ (v & ((1 << 64) - 1)))))
        for v in visits:
            if _spill_days(v):
                renderer.sink = sink
                renderer.render(v, random.Random(_mix64(keys.visit ^ (v & ((1 << 64) - 1)))))
            else:
                renderer.sink = strict_sink
                renderer.render(v, day_rng)
        for w in writers:
            w.close()
    except BaseException:
        for w in writers:
            w.abort()
        raise
    finally:
        pool.shutdown(wait=True)
    return counts[0], counts[1], counts[2]


def _render_day_task(args: tuple[_Config, str, int, list[int], list[int]]) -> tuple[int, int, int]:
    cfg, out, d, visits, spill = args
    return _render_day(cfg, Path(out), d, visits, spill)


# ---------------------------------------------------------------------------------------
# Calibration for `events=`
# ---------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _events_per_customer(cfg: _Config, sample: int) -> float:
    """Distinct messages delivered within the period per customer, on a sample."""
    keys = _Keys(cfg.seed)
    visits: list[int] = []
    for chunk in range((sample + _CHUNK - 1) // _CHUNK):
        visits.extend(_plan_chunk(cfg, chunk, sample))
    lo, hi = cfg.h0_ms, cfg.h0_ms + cfg.horizon_ms
    count = [0]

    def sink(recv: int, f: int, line: str, copy: bool) -> None:
        if not copy and lo <= recv < hi:
            count[0] += 1

    renderer = _Renderer(cfg, sink)
    for v in visits:
        renderer.render(v, random.Random(_mix64(keys.visit ^ (v & ((1 << 64) - 1)))))
    return max(count[0], 1) / sample


# ---------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------


def generate(
    out: Path,
    *,
    days: int = 30,
    customers: int = 2000,
    seed: int = 42,
    start: dt.date | None = None,
    events: int | None = None,
    files_per_day: int = 2,
    workers: int = 1,
    malformed_rate: float = 0.002,
    duplicate_rate: float = 0.01,
) -> GenerateStats:
    """Write ``days`` folders of Segment-spec JSON lines under ``out``; return the counts.

    ``start`` is the first folder's date (default: today UTC minus ``days``). ``events``,
    when given, overrides ``customers`` with however many customers make about that many
    distinct valid messages. The output depends only on the arguments (not on
    ``workers``); with an explicit ``start`` it is byte-for-byte reproducible.
    """
    if days < 1:
        raise ValueError("days must be at least 1")
    if files_per_day < 1:
        raise ValueError("files_per_day must be at least 1")
    if not 0 <= malformed_rate < 0.5:
        raise ValueError("malformed_rate must be in [0, 0.5)")
    if not 0 <= duplicate_rate <= 0.5:
        raise ValueError("duplicate_rate must be in [0, 0.5]")
    if events is None and customers < 1:
        raise ValueError("customers must be at least 1")
    if events is not None and events < 1:
        raise ValueError("events must be at least 1")
    if start is None:
        start = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=days)
    cfg = _Config(
        seed=int(seed),
        days=int(days),
        epoch_day0=start.toordinal() - _EPOCH_ORDINAL,
        files_per_day=int(files_per_day),
        malformed_rate=float(malformed_rate),
        duplicate_rate=float(duplicate_rate),
    )
    if events is not None:
        per_customer = _events_per_customer(cfg, _PILOT_CUSTOMERS)
        customers = max(1, round(events / per_customer))
    if customers >= 1 << 32:
        raise ValueError("too many customers")

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n_chunks = (customers + _CHUNK - 1) // _CHUNK
    use_pool = workers > 1 and not multiprocessing.current_process().daemon
    pool = None
    if use_pool:
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        pool = multiprocessing.get_context(method).Pool(workers)
    try:
        chunk_args = [(cfg, i, customers) for i in range(n_chunks)]
        chunks: Iterable[list[int]] = (
            pool.imap(_plan_chunk_task, chunk_args) if pool is not None
            else map(_plan_chunk_task, chunk_args)
        )
        by_day: list[list[int]] = [[] for _ in range(days)]
        for chunk_visits in chunks:
            for v in chunk_visits:
                by_day[(v >> 64) // _DAY_MS].append(v)
        for lst in by_day:
            lst.sort()
        spill_by_day = [[v for v in lst if _spill_days(v)] for lst in by_day]
        tasks = []
        for d in range(days):
            spill: list[int] = []
            for k in range(7, 0, -1):
                if d - k >= 0:
                    spill.extend(v for v in spill_by_day[d - k] if _spill_days(v) >= k)
            tasks.append((cfg, str(out), d, by_day[d], spill))
        del by_day, spill_by_day
        results: Iterable[tuple[int, int, int]] = (
            pool.imap(_render_day_task, tasks) if pool is not None
            else map(_render_day_task, tasks)
        )
        n_events = n_dups = n_bad = 0
        for e, dup, bad in results:
            n_events += e
            n_dups += dup
            n_bad += bad
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    return GenerateStats(
        days=days,
        files=days * files_per_day,
        lines=n_events + n_dups + n_bad,
        events=n_events,
        duplicates=n_dups,
        malformed=n_bad,
        customers=customers,
    )
