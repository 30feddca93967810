"""Identifier normalisation (orchestration/identifiers.py): the Python identity keys equal the
dbt macros of dbt_project/macros/identifiers.sql, evaluated in DuckDB on the same values, and
the customer-match forms are the ones Google Ads and Meta require."""

from __future__ import annotations

import hashlib
from typing import Any

import duckdb
import jinja2
import pytest

from orchestration.audiences import customer_match_row, sha256_hex
from orchestration.identifiers import (
    JUNK_IDENTIFIERS_SEED,
    customer_match_email,
    customer_match_phone,
    identity_email,
    identity_id,
    identity_phone_key,
    identity_phone_key_sql,
    junk_values,
    normalise_identifier,
)
from orchestration.settings import REPO_ROOT

MACROS = REPO_ROOT / "dbt_project" / "macros"

# Values that have tripped identifier handling somewhere: spacing, tabs, signs, too few digits,
# non-ASCII digits, junk in any case, emails without a local part or domain.
TRICKY = [
    None, "", " ", "   \t", "+1 (555) 123-4567", " +44 20 7946 0958 ", "\t+1234567",
    "+1234567\n", "123456", "1234567", "+123456", "++1234567", "1+234567", "00 44 1234 567",
    "tel:+1-555-123-4567", "555.123.4567 ext. 89", "\u0665\u0665\u0665\u0661\u0662\u0663\u0664",
    "\uff15\uff15\uff15\uff11\uff12\uff13\uff14", "+\u0661\u0662\u0663 4567890", "NULL",
    " Null ", "undefined", "0", "-1", "n/a", "N/A", "[object Object]", "{}", "''",
    "00000000-0000-0000-0000-000000000000", "test@test.com", " Test@Test.COM ",
    " Pat.Doe@Example.ORG ", "\tx@y.z", "x @y", "a@b", "@b.com", "a@", "@", "a@@b",
    "first.last+tag@Gmail.com", "anon-123", "  user 42  ", "Ünïcødé@Exämple.de", "guest",
]


class _Namespace:
    """`cdp.<macro>` and `adapter.dispatch(name, 'cdp')` resolved against the loaded macros."""

    def __init__(self) -> None:
        self.module: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.module, name)

    def dispatch(self, name: str, _package: str) -> Any:
        return getattr(self.module, f"default__{name}")


def _macro_module() -> Any:
    """The macros of identifiers.sql (and of the file defining regexp_replace_all), rendered
    as dbt-duckdb would: `ref('junk_identifiers')` is a table of the seed, dispatch picks the
    default__ implementation."""
    sources = [
        path.read_text() for path in sorted(MACROS.rglob("*.sql"))
        if path.name == "identifiers.sql" or "macro regexp_replace_all(" in path.read_text()
    ]
    assert len(sources) == 2, "identifiers.sql or the regexp_replace_all macro went missing"
    cdp = _Namespace()
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    template = env.from_string(
        "\n".join(sources),
        globals={"cdp": cdp, "adapter": cdp, "return": lambda value: value,
                 "ref": lambda name: name},
    )
    cdp.module = template.module
    return cdp.module


@pytest.fixture(scope="module")
def tricky() -> duckdb.DuckDBPyConnection:
    """A DuckDB table `tricky (i, v)` of the values and `junk_identifiers` of the seed."""
    conn = duckdb.connect()
    conn.execute("create table tricky (i integer, v varchar)")
    conn.executemany("insert into tricky values (?, ?)", list(enumerate(TRICKY)))
    conn.execute(
        "create table junk_identifiers as select * from read_csv(?, all_varchar = true, "
        "header = true)",
        [str(JUNK_IDENTIFIERS_SEED)],
    )
    yield conn
    conn.close()


def _evaluate(conn: duckdb.DuckDBPyConnection, sql: str) -> list[str | None]:
    return [r[0] for r in conn.execute(f"select {sql} from tricky order by i").fetchall()]


@pytest.mark.parametrize(
    ("macro", "twin"),
    [("normalize_phone", identity_phone_key), ("normalize_email", identity_email),
     ("clean_identifier", identity_id)],
)
def test_python_identity_keys_equal_the_dbt_macros_on_tricky_values(tricky, macro, twin):
    macro_sql = str(getattr(_macro_module(), macro)("v"))
    assert _evaluate(tricky, macro_sql) == [twin(v) for v in TRICKY]


def test_privacy_phone_sql_equals_the_dbt_macro_on_tricky_values(tricky):
    macro_sql = str(_macro_module().normalize_phone("v"))
    from_macro = _evaluate(tricky, macro_sql)
    assert _evaluate(tricky, identity_phone_key_sql("v")) == from_macro
    # The comparison is not vacuous: both keep the "+" and drop what is not a phone.
    assert from_macro[TRICKY.index("+1 (555) 123-4567")] == "+15551234567"
    assert from_macro[TRICKY.index("\t+1234567")] == "1234567"
    assert from_macro[TRICKY.index("123456")] is None


def test_junk_values_are_the_seed_lower_cased():
    assert {"null", "n/a", "test@test.com", "[object object]"} <= junk_values()
    assert all(value == value.strip().lower() for value in junk_values())


def test_identifiers_typed_by_a_person_are_trimmed_then_keyed_as_identity_resolution_does():
    assert normalise_identifier("email", "  Pat.Doe@Example.ORG ") == "pat.doe@example.org"
    assert normalise_identifier("phone", "\t+44 20 7946 0958 ") == "+442079460958"
    assert normalise_identifier("user_id", " Abc ") == "Abc"
    for kind, value, reason in [
        ("email", "no-at-sign", "not an email"), ("phone", "12345", "not a phone"),
        ("user_id", "NULL", "placeholder"), ("email", "Test@Test.com", "placeholder"),
        ("anonymous_id", "  ", "empty"), ("cookie", "x", "unknown identifier type"),
    ]:
        with pytest.raises(ValueError, match=reason):
            normalise_identifier(kind, value)


def test_sha256_of_a_normalised_email_matches_the_published_test_vector():
    expected = "973dfe463ec85785f5f95af5ba3906eedb2d931c24e69824a89ea65dba4e813b"
    assert sha256_hex("test@example.com") == expected
    assert customer_match_email("  Test@Example.COM ") == "test@example.com"
    assert customer_match_row(" TEST@example.com", None) == (expected, "")
    # Dots are kept: Gmail-specific dot removal is not applied.
    assert customer_match_email("First.Last@Gmail.com") == "first.last@gmail.com"
    assert customer_match_email("not an email") is None and customer_match_email("") is None


def test_phones_are_normalised_to_e164_before_hashing():
    assert customer_match_phone("+1 (555) 123-4567") == "+15551234567"
    assert sha256_hex("+15551234567") == (
        "8a59780bb8cd2ba022bfa5ba2ea3b6e07af17a7d8b30c1f9b3390e36f69019e4")
    assert hashlib.sha256(b"+15551234567").hexdigest() == sha256_hex("+15551234567")
    assert customer_match_row(None, "+1 (555) 123-4567") == (
        "", "8a59780bb8cd2ba022bfa5ba2ea3b6e07af17a7d8b30c1f9b3390e36f69019e4")
    # National numbers take the default country code (var audience_phone_country_code).
    assert customer_match_phone("(555) 123-4567") == "+15551234567"
    assert customer_match_phone("555.123.4567") == "+15551234567"
    assert customer_match_phone("1-555-123-4567") == "+15551234567"
    assert customer_match_phone("5551234567") == "+15551234567"
    assert customer_match_phone("0044 20 7946 0958") == "+442079460958"
    assert customer_match_phone("+44 (0)20 7946 0958") == "+442079460958"
    assert customer_match_phone("020 7946 0958", country_code="44") == "+442079460958"
    assert customer_match_phone("12345") is None and customer_match_phone("") is None
    # libphonenumber's rules: Italy keeps its leading 0, extensions are not part of the number
    assert customer_match_phone("06 1234 5678", country_code="39") == "+390612345678"
    assert customer_match_phone("555.123.4567 ext. 89") == "+15551234567"
    assert customer_match_phone("+1234567") is None  # too short for +1
    assert customer_match_row(None, "n/a") is None
