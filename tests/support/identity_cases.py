"""Identity resolution inputs for tests: hand-made messages and random graphs of chosen shapes.

A case is a list of messages ``(message_id, minutes after T0 or a Timestamp, [(type, value),
...])``; :func:`frame` turns it into the resolver's long input frame (one row per message and
identifier). The random generators are seeded by the caller's ``random.Random``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd

T0 = pd.Timestamp("2024-03-01 09:00:00")
Message = tuple[str, Any, Sequence[tuple[str, str]]]
Identifier = tuple[str, str]

A, B = ("user_id", "A"), ("user_id", "B")
K = ("anonymous_id", "K")
BX = ("email", "b@x")
#: A kiosk browser K: user A logs in on it, then user B with B's email.
KIOSK: list[Message] = [("m1", 0, [K, A]), ("m2", 10, [K, B, BX])]


def ts(minutes: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=minutes)


def frame(messages: Iterable[Message]) -> pd.DataFrame:
    """Long input frame from (message_id, minutes or Timestamp, [(type, value), ...])."""
    rows = []
    for mid, at, idents in messages:
        when = at if isinstance(at, pd.Timestamp) else ts(at)
        rows += [(mid, when, t, v) for t, v in idents]
    df = pd.DataFrame(
        rows, columns=["message_id", "event_at", "identifier_type", "identifier_value"]
    )
    df["event_at"] = df["event_at"].astype("datetime64[ns]")
    return df


def random_messages(rng: random.Random, n_messages: int) -> list[Message]:
    """Small tangled graphs: a few user ids, emails, anonymous ids and phones, repeated sets,
    eight distinct times (ties broken by message id), one value shared by two types."""
    spread = rng.choice([1, 1, 4])  # a bigger pool gives more, smaller components
    pool = (
        [("user_id", f"u{i}") for i in range(5 * spread)]
        + [("email", f"e{i}@x") for i in range(4 * spread)]
        + [("anonymous_id", f"a{i}") for i in range(8 * spread)]
        + [("phone", f"p{i}") for i in range(2 * spread)]
        + [("previous_id", "a1")]  # same value as an anonymous id, different type
    )
    msgs: list[Message] = []
    for i in range(n_messages):
        if msgs and rng.random() < 0.15:  # repeat an earlier identifier set
            idents = list(rng.choice(msgs)[2])
            rng.shuffle(idents)
        else:
            idents = rng.sample(pool, rng.choice([1, 1, 2, 2, 2, 3, 3, 4]))
        msgs.append((f"m{rng.randrange(10**6):06d}-{i}", rng.randrange(8), idents))
    return msgs


def hub_messages(rng: random.Random, n_messages: int) -> list[Message]:
    """One anonymous id (a kiosk) on most messages, each with a user id or an email from a
    small pool, and a few messages linking those users to their own devices."""
    hub = ("anonymous_id", "hub")
    users = [("user_id", f"u{i}") for i in range(rng.randint(2, 12))]
    emails = [("email", f"e{i}@x") for i in range(rng.randint(1, 6))]
    msgs: list[Message] = []
    for i in range(n_messages):
        if rng.random() < 0.7:
            idents = [hub, rng.choice(users + emails)]
            if rng.random() < 0.3:
                idents.append(rng.choice(emails))
        else:
            idents = [rng.choice(users), ("anonymous_id", f"d{rng.randrange(6)}")]
        mid = f"h{rng.randrange(100):02d}-{i}"
        msgs.append((mid, rng.randrange(5), list(dict.fromkeys(idents))))
    return msgs


def chain_messages(rng: random.Random, n_messages: int) -> list[Message]:
    """A long chain: message i links identifier i to identifier i + 1, in time order or
    shuffled; some links are user ids, so merge protection cuts the chain."""
    kinds = ["anonymous_id"] * 6 + ["email"] * 2 + ["user_id"]
    nodes = [(rng.choice(kinds), f"c{i}") for i in range(n_messages + 1)]
    times = list(range(n_messages))
    if rng.random() < 0.5:
        rng.shuffle(times)
    return [(f"c{i:04d}", times[i] / 2, [nodes[i], nodes[i + 1]]) for i in range(n_messages)]


def user_heavy_messages(rng: random.Random, n_messages: int) -> list[Message]:
    """Many conflicting user ids: messages of two to five identifiers, mostly user ids, from
    a pool where every value also exists as another type (values collide across types)."""
    values = [f"v{i}" for i in range(rng.randint(3, 10))]
    types = ["user_id", "user_id", "email", "anonymous_id", "phone", "device"]
    pool = [(t, v) for v in values for t in dict.fromkeys(types)]
    msgs: list[Message] = []
    for i in range(n_messages):
        idents = rng.sample(pool, rng.randint(2, min(5, len(pool))))
        if rng.random() < 0.4:
            idents[0] = ("user_id", rng.choice(values))
        msgs.append((f"x{i:03d}", rng.choice([0, 0, 0, 1, 2]), list(dict.fromkeys(idents))))
    return msgs


#: The shapes of the property tests, by name.
SHAPES: dict[str, Callable[[random.Random, int], list[Message]]] = {
    "tangled": random_messages,
    "hub": hub_messages,
    "chain": chain_messages,
    "user_heavy": user_heavy_messages,
}
