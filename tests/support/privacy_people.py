"""Person P (two devices, a user id, an email, a name, a phone), other visitors, their dumps,
and queries over a warehouse: the data of the privacy tests."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from support.dumps import write_dump_file

DAY1, DAY2, DAY3 = "2026-03-01", "2026-03-02", "2026-03-03"

# Person P: two devices, a user id, an email (sent in mixed case), a name and a phone.
P_LAPTOP = "anon-7f3a9c-laptop"
P_PHONE_DEVICE = "anon-91bc2e-phone"
P_USER = "user-4242-pd"
P_EMAIL_SENT = "Pat.Doe@Example.org"
P_EMAIL = "pat.doe@example.org"
P_NAME, P_FIRST, P_LAST = "Patricia Doe-Quincey", "Patricia", "Doe-Quincey"
P_PHONE_SENT = "+44 20 7946 0958"
P_PHONE = "+442079460958"
P_NEEDLES = [P_LAPTOP, P_PHONE_DEVICE, P_USER, P_EMAIL, P_NAME, P_FIRST, P_LAST,
             P_PHONE_SENT, P_PHONE]

A_ANON, A_USER, A_EMAIL = "anon-a-desk", "user-a-17", "ana@lima.example"
B_ANON = "anon-b-visitor"
C_ANON, C_USER = "anon-c-mobile", "user-c-3"
D_ANON, D_USER = "anon-d-new", "user-d-5"

SALT = "test-salt-" + "0" * 54


def at(day: str, hhmm: str) -> str:
    return f"{day}T{hhmm}:00Z"


def message(mid: str, kind: str, when: str, *, anon: str | None = None,
            user: str | None = None, consent: bool | None = None, **fields) -> dict:
    msg: dict = {"type": kind, "messageId": mid, "timestamp": when}
    if anon:
        msg["anonymousId"] = anon
    if user:
        msg["userId"] = user
    context = fields.pop("context", {})
    if consent is not None:
        context["consent"] = {"categoryPreferences": {"Analytics": consent, "Advertising": False}}
    if context:
        msg["context"] = context
    msg.update(fields)
    return msg


def page(mid: str, when: str, path: str, **kw) -> dict:
    context = {"page": {"path": path, "url": f"https://shop.example{path}", "title": path}}
    return message(mid, "page", when, context=context, **kw)


def track(mid: str, when: str, event: str, properties: dict | None = None, **kw) -> dict:
    return message(mid, "track", when, event=event, properties=properties or {}, **kw)


P_TRAITS = {"email": P_EMAIL_SENT, "name": P_NAME, "first_name": P_FIRST, "last_name": P_LAST,
            "phone": P_PHONE_SENT}

DAY1_P = [
    page("m-p-01", at(DAY1, "10:00"), "/", anon=P_LAPTOP),
    page("m-p-02", at(DAY1, "10:03"), "/products/kettle", anon=P_LAPTOP),
    message("m-p-03", "identify", at(DAY1, "10:05"), anon=P_LAPTOP, user=P_USER, traits=P_TRAITS),
    page("m-p-04", at(DAY1, "10:06"), "/checkout", anon=P_LAPTOP, user=P_USER),
]
P_MALFORMED = '{"type":"identify","userId":"user-4242-pd","traits":{"email":"pat.doe@example.org"'
DAY1_OTHERS = [
    page("m-a-01", at(DAY1, "09:00"), "/", anon=A_ANON),
    message("m-a-02", "identify", at(DAY1, "09:01"), anon=A_ANON, user=A_USER,
            traits={"email": A_EMAIL, "name": "Ana Lima"}),
    track("m-a-03", at(DAY1, "09:02"), "Order Completed", {"order_id": "o-a-1", "revenue": 30},
          anon=A_ANON, user=A_USER),
    page("m-b-01", at(DAY1, "11:00"), "/", anon=B_ANON),
    page("m-b-02", at(DAY1, "11:10"), "/about", anon=B_ANON),
    # C refuses analytics consent, then gives it: only the later messages count.
    page("m-c-01", at(DAY1, "12:00"), "/", anon=C_ANON, consent=False),
    track("m-c-02", at(DAY1, "12:01"), "Product Viewed", anon=C_ANON, consent=False),
    page("m-c-03", at(DAY1, "14:00"), "/", anon=C_ANON, consent=True),
    page("m-c-04", at(DAY1, "14:02"), "/pricing", anon=C_ANON, consent=True),
    track("m-c-05", at(DAY1, "14:03"), "Signed Up", anon=C_ANON, consent=True),
    message("m-c-06", "identify", at(DAY1, "14:04"), anon=C_ANON, user=C_USER, consent=True,
            traits={"email": "cy@c.example", "name": "Cy Chen"}),
]
OTHER_MALFORMED = json.dumps(
    {"type": "bogus", "messageId": "m-x-1", "timestamp": at(DAY1, "08:00")}
)
DAY2_P = [
    message("m-p-05", "alias", at(DAY2, "08:00"), user=P_USER, previousId=P_PHONE_DEVICE),
    page("m-p-06", at(DAY2, "08:01"), "/", anon=P_PHONE_DEVICE),
    page("m-p-07", at(DAY2, "08:04"), "/products/kettle", anon=P_PHONE_DEVICE),
    track("m-p-08", at(DAY2, "08:06"), "Order Completed", {"order_id": "o-p-1", "revenue": 55.5},
          anon=P_PHONE_DEVICE, user=P_USER),
]
DAY2_OTHERS = [
    page("m-a-04", at(DAY2, "09:00"), "/account", anon=A_ANON, user=A_USER),
    page("m-b-03", at(DAY2, "13:00"), "/", anon=B_ANON),
]
# A new dump after the erasure: P's identifiers again, in other fields and spellings.
DAY3_P = [
    page("m-p-09", at(DAY3, "07:00"), "/", anon=P_LAPTOP),
    message("m-p-10", "identify", at(DAY3, "07:01"), anon="anon-55aa-tablet",
            traits={"email": "  PAT.DOE@example.org "}),
    message("m-p-11", "identify", at(DAY3, "07:02"), user=P_USER,
            traits={"phone": "+44 (20) 7946-0958"}),
    # an anonymous id used as a user id: hashes are type-agnostic
    page("m-p-12", at(DAY3, "07:03"), "/", user=P_PHONE_DEVICE),
]
P_MALFORMED_DAY3 = '{"type":"identify","traits":{"phone":"+44 20 7946 0958"'
DAY3_OTHERS = [
    page("m-d-01", at(DAY3, "09:00"), "/", anon=D_ANON),
    message("m-d-02", "identify", at(DAY3, "09:01"), anon=D_ANON, user=D_USER,
            traits={"email": "dee@d.example"}),
]

P_MESSAGES = len(DAY1_P) + len(DAY2_P)
# Every original line of P: messages, the retried copy of m-p-02, the malformed line.
P_ORIGINAL_LINES = P_MESSAGES + 1 + 1
P_NEW_LINES = len(DAY3_P) + 1


def write_original_dumps(raw: Path) -> None:
    write_dump_file(raw, DAY1, "a.jsonl", [*DAY1_P, P_MALFORMED, *DAY1_OTHERS, OTHER_MALFORMED])
    write_dump_file(raw, DAY1, "retries/b.jsonl", [DAY1_P[1]])  # a retried delivery
    write_dump_file(raw, DAY2, "a.jsonl.gz", [*DAY2_P, *DAY2_OTHERS], gz=True)


def search_warehouse(path: Path, needles: list[str]) -> list[tuple[str, str, str, str]]:
    """(schema, relation, column, needle) wherever a needle occurs, case-insensitively, in any
    column (cast to text) of any table or view of any schema."""
    lowered = [n.lower() for n in needles]
    hits = []
    with duckdb.connect(str(path), read_only=True) as conn:
        relations = conn.execute(
            """
            select schema_name, table_name from duckdb_tables()
            where database_name = current_database()
            union all
            select schema_name, view_name from duckdb_views()
            where database_name = current_database() and not internal
            """
        ).fetchall()
        for schema, name in relations:
            columns = [r[0] for r in conn.execute(
                "select column_name from duckdb_columns() where database_name = "
                "current_database() and schema_name = ? and table_name = ?", [schema, name],
            ).fetchall()]
            for column in columns:
                found = conn.execute(
                    f"""
                    select distinct n.needle
                    from "{schema}"."{name}" as r,
                         (select unnest(?::varchar[]) as needle) as n
                    where contains(lower(cast(r."{column}" as varchar)), n.needle)
                    """,
                    [lowered],
                ).fetchall()
                hits.extend((schema, name, column, needle) for (needle,) in found)
    return hits


def customer_360(path: Path) -> dict[str, tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        rows = conn.execute(
            "select * exclude (days_since_last_seen) from marts.customer_360"
        ).fetchall()
    return {row[0]: row for row in rows}


def customer_of(path: Path, value: str) -> str | None:
    with duckdb.connect(str(path), read_only=True) as conn:
        row = conn.execute(
            "select customer_id from marts.identity_graph where identifier_value = ?", [value]
        ).fetchone()
    return row[0] if row else None


def query(path: Path, sql: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()
