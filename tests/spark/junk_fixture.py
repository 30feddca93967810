"""Messages that would merge customers if junk identifier values were not junk.

Each pair of visitors shares one placeholder value a broken tracker writes (seeds/
junk_identifiers.csv): as a user id, an email, an anonymous id or an alias previousId. Were the
value an identifier, each pair would become one customer. Used by the Spark parity test, where
the seed once loaded wrong (`null` as `None`, `''` as `'`).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

# (field, value): the placeholders whose loading differs between CSV readers (agate's `null`,
# quotes) and two plain ones
JUNK = [
    ("userId", "null"),
    ("userId", "''"),
    ("anonymousId", "undefined"),
    ("userId", "0"),
    ("email", '""'),
    ("previousId", "NULL"),
]


def junk_visitors() -> list[str]:
    """The anonymous ids of the visitors (two per junk value), each its own customer."""
    return [f"junk-visitor-{i}-{side}" for i in range(len(JUNK)) for side in "ab"]


def junk_messages(day: dt.date) -> list[dict]:
    noon = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    messages = []
    for i, (field, value) in enumerate(JUNK):
        for n, side in enumerate("ab"):
            at = (noon + dt.timedelta(minutes=10 * i + n)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            anonymous_id = f"junk-visitor-{i}-{side}"
            message = {
                "type": "identify", "messageId": f"junk-{i}-{side}", "timestamp": at,
                "receivedAt": at, "anonymousId": anonymous_id, "traits": {},
            }
            if field == "email":
                message["traits"]["email"] = value
            elif field == "previousId":
                message.update(type="alias", previousId=value, userId=f"junk-user-{i}-{side}")
            elif field == "anonymousId":
                # the placeholder is the message's anonymous id; the visitor is its user id
                message.update(anonymousId=value, userId=anonymous_id)
            else:
                message[field] = value
            messages.append(message)
    return messages


def write_junk_fixture(raw: Path, day: dt.date) -> Path:
    path = raw / day.isoformat() / "junk-identifiers.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(m) + "\n" for m in junk_messages(day)))
    return path
