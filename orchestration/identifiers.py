"""Identifier normalisation, written once for the whole platform.

Two purposes, two families of functions; both keep the outputs they always had:

* **Identity keys** (`identity_*`, `normalise_identifier`): the value as identity resolution
  stores it in `marts.identity_graph`. They are the Python twins of the dbt macros in
  `dbt_project/macros/identifiers.sql` (`clean_identifier`, `normalize_email`,
  `normalize_phone`), and `identity_phone_key_sql` is the macro's DuckDB SQL for code that
  runs outside dbt (privacy's sweep of raw messages). tests/unit/test_identifiers.py renders
  the macros and asserts they agree with these functions on a table of tricky values. Like the
  macros, they trim spaces only (SQL `trim`) and count ASCII digits only (`[0-9]`).
  A phone key is "+" (when written) and digits, at least MIN_PHONE_DIGITS of them.
* **Customer match** (`customer_match_*`): what Google Ads Customer Match and Meta custom
  audiences hash: email trimmed and lower-cased (no Gmail dot removal), phone in E.164 parsed
  by the `phonenumbers` package (Google's libphonenumber rules: trunk prefixes, "(0)",
  extensions), national numbers in the default country of the dbt var
  `audience_phone_country_code`.

Junk values (placeholders such as "null", "test@test.com") come from the seed
`seeds/junk_identifiers.csv`, read by `junk_values()` only; the dbt macros read the same seed.

A leading "00" is read as the international prefix whatever the default country (as most of
the world dials it; `phonenumbers` alone would read "0044 20 7946 0958" as a US number).
"""

from __future__ import annotations

import csv
from functools import cache

import phonenumbers

from orchestration import settings

IDENTIFIER_TYPES = ("user_id", "email", "anonymous_id", "phone")
JUNK_IDENTIFIERS_SEED = settings.REPO_ROOT / "seeds" / "junk_identifiers.csv"
MIN_PHONE_DIGITS = 7
DEFAULT_PHONE_COUNTRY_CODE = "1"
_ASCII_DIGITS = frozenset("0123456789")


@cache
def junk_values() -> frozenset[str]:
    """Lower-cased placeholder values of seeds/junk_identifiers.csv (empty if it is missing)."""
    try:
        with open(JUNK_IDENTIFIERS_SEED, newline="") as fh:
            return frozenset(
                (row.get("identifier_value") or "").strip().lower() for row in csv.DictReader(fh)
            )
    except OSError:
        return frozenset()


# --- identity keys (twins of dbt_project/macros/identifiers.sql) ----------------------------


def _sql_trim(value: str) -> str:
    """SQL `trim`: spaces only (a tab or newline stays, as in DuckDB and Spark)."""
    return value.strip(" ")


def identity_id(value: str | None) -> str | None:
    """Macro clean_identifier: trimmed; None when empty or a junk value."""
    text = _sql_trim(value or "")
    if not text or text.lower() in junk_values():
        return None
    return text


def _email_shape(value: str | None) -> str | None:
    """Trimmed and lower-cased when there is an "@" with something on both sides, else None."""
    text = (value or "").strip().lower()
    return text if "@" in text[1:-1] else None


def identity_email(value: str | None) -> str | None:
    """Macro normalize_email: trimmed and lower-cased; None without "@" or when junk."""
    text = _sql_trim(value or "").lower()
    if "@" not in text[1:-1] or text in junk_values():
        return None
    return text


def identity_phone_key(value: str | None) -> str | None:
    """Macro normalize_phone: "+" when written first, then the digits; None below 7 digits."""
    if value is None:
        return None
    digits = "".join(ch for ch in value if ch in _ASCII_DIGITS)
    if len(digits) < MIN_PHONE_DIGITS:
        return None
    return ("+" if _sql_trim(value).startswith("+") else "") + digits


def identity_phone_key_sql(expr: str) -> str:
    """DuckDB SQL of `identity_phone_key` (the macro normalize_phone as dbt-duckdb renders it)
    for the SQL expression `expr`."""
    return (
        f"case when length(regexp_replace(coalesce({expr}, ''), '[^0-9]', '', 'g')) "
        f">= {MIN_PHONE_DIGITS} "
        f"then (case when trim({expr}) like '+%' then '+' else '' end) "
        f"|| regexp_replace({expr}, '[^0-9]', '', 'g') end"
    )


def normalise_identifier(identifier_type: str, value: str) -> str:
    """A value typed by a person (`cdp forget`, `cdp export`, `cdp explain`) as identity
    resolution stores it: surrounding whitespace dropped, then the identity key of its type.
    ValueError, saying why, for an unknown type, a junk value or an unusable one."""
    if identifier_type not in IDENTIFIER_TYPES:
        raise ValueError(f"unknown identifier type {identifier_type!r}")
    text = (value or "").strip()
    if identifier_type == "email":
        email = _email_shape(text)
        if email is None:
            raise ValueError(f"{value!r} is not an email address")
        text = email
    elif identifier_type == "phone":
        phone = identity_phone_key(text)
        if phone is None:
            raise ValueError(f"{value!r} is not a phone number (fewer than 7 digits)")
        text = phone
    if not text:
        raise ValueError("the identifier is empty")
    if text.lower() in junk_values():
        raise ValueError(
            f"{value!r} is a placeholder value (seeds/junk_identifiers.csv) that never "
            "identifies anyone"
        )
    return text


# --- customer match (Google Ads, Meta) -----------------------------------------------------


def customer_match_email(value: str | None) -> str | None:
    """Trimmed and lower-cased (Google / Meta customer match); None when not an email."""
    text = _email_shape(value)
    if text is None or any(ch.isspace() for ch in text):
        return None
    return text


def customer_match_phone(value: str | None, country_code: str = DEFAULT_PHONE_COUNTRY_CODE
                         ) -> str | None:
    """E.164 ('+', country code, national number); None when not a possible phone number.

    `+44 20 7946 0958`, `0044 20 7946 0958` and `+44 (0)20 7946 0958` keep their country code;
    a number without one is a national number of `country_code`: `(555) 123-4567` ->
    `+15551234567`, for code 44 `020 7946 0958` -> `+442079460958` (trunk 0 dropped), for code
    39 `06 1234 5678` -> `+390612345678` (Italy keeps its leading 0); extensions are dropped.
    """
    text = (value or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    region = phonenumbers.region_code_for_country_code(int(country_code))
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
