"""The static vocabulary: site pages and the links between them, products, referrers and
campaigns, user agents and apps, locales, names, companies, and junk identifier values.

Every string here is JSON-safe (no quotes, backslashes or control characters), so lines
can be assembled from them with f-strings.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

# Junk identifier values sprinkled on some messages; none of them may link anything.
JUNK_USER_IDS: tuple[str, ...] = (
    "null", "undefined", "0", "none", "[object Object]", "anonymous", "",
)
JUNK_EMAILS: tuple[str, ...] = ("", "none", "null", "undefined", "noemail@noemail.com")


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
# The app versions installed (version, build): a device keeps the one it has.
_APP_VERSIONS = (("3.1.0", "310"), ("3.2.0", "320"), ("3.2.1", "321"))
_CARRIERS = ("T-Mobile", "Verizon", "AT&T", "Vodafone", "Orange", "O2")
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


def _cumulative(weights: Sequence[float]) -> list[float]:
    """Cumulative shares of ``weights`` (the last exactly 1.0): bisect a uniform draw in it
    to pick an index with probability proportional to its weight."""
    total = sum(weights)
    out: list[float] = []
    acc = 0.0
    for w in weights:
        acc += w
        out.append(acc / total)
    out[-1] = 1.0
    return out


_HOUR_CUM = _cumulative(_HOUR_WEIGHTS)
_LOCALE_CUM = _cumulative([w for _l, _c, w in _LOCALES])
