"""Segment messages for identity tests through dbt: builders and the shared scenario.

`scenario()` holds every case of the identity issue (chain, kiosk, junk, alias) with disjoint
identifiers; tests/dbt/test_identity_dbt.py checks it through dbt and
tests/dbt/test_identity_sql_resolver.py builds it with both resolvers.
"""

from __future__ import annotations

import datetime as dt

from support.dbt_project import message

T0 = dt.datetime(2026, 5, 4, 9, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def identify(mid: str, minutes: float, *, anon: str | None = None, user: str | None = None,
             email: str | None = None, received_minutes: float | None = None, **traits):
    return message(
        "identify", mid, at(minutes), anonymous_id=anon, user_id=user,
        received_at=at(received_minutes) if received_minutes is not None else None,
        traits={**({"email": email} if email is not None else {}), **traits},
    )


def page(mid: str, minutes: float, *, anon: str | None = None, user: str | None = None,
         received_minutes: float | None = None):
    return message(
        "page", mid, at(minutes), anonymous_id=anon, user_id=user, path="/",
        received_at=at(received_minutes) if received_minutes is not None else None,
    )


def alias(mid: str, minutes: float, previous_id: str, user: str):
    msg = message("alias", mid, at(minutes), user_id=user)
    msg["previousId"] = previous_id
    return msg


def scenario() -> list[dict]:
    """Every case of the issue in one dump; identifiers are disjoint between cases."""
    return [
        # 4-hop chain anon1 - email - anon2 - user - anon3, one link per message
        page("chain-0", 0, anon="chain-a1"),
        identify("chain-1", 1, anon="chain-a1", email=" Chain@Example.COM "),
        identify("chain-2", 2, anon="chain-a2", email="chain@example.com"),
        identify("chain-3", 3, anon="chain-a2", user="chain-u"),
        page("chain-4", 4, anon="chain-a3", user="chain-u"),
        # a kiosk browser: user A logs in first, then user B with B's email
        identify("kiosk-1", 10, anon="kiosk", user="kiosk-A", email="a@kiosk.example"),
        page("kiosk-2", 11, anon="kiosk", user="kiosk-A"),
        identify("kiosk-3", 20, anon="kiosk", user="kiosk-B", email="b@kiosk.example"),
        page("kiosk-4", 21, anon="kiosk", user="kiosk-B"),
        # junk values link nothing: two browsers typing a placeholder email and a junk user id
        identify("junk-1", 30, anon="junk-a1", email="null@null.com"),
        identify("junk-2", 31, anon="junk-a2", email="NULL@null.com"),
        identify("junk-3", 32, anon="junk-a1", user="undefined"),
        identify("junk-4", 33, anon="junk-a2", user="undefined"),
        # alias: a browser aliased to a user id
        page("alias-1", 40, anon="alias-a"),
        alias("alias-2", 41, "alias-a", "alias-u"),
        identify("alias-3", 42, user="alias-u", email="alias@example.com", name="Al Ias"),
    ]
