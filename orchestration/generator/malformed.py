"""Malformed lines a loader must quarantine, each made from a real message."""

from __future__ import annotations

import json
import random

from orchestration.generator.formatting import _q

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


_TIME_FIELDS = ("timestamp", "originalTimestamp", "sentAt", "receivedAt")


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
        for key in _TIME_FIELDS:
            msg.pop(key, None)
    elif kind == "garbage_time":
        for key in _TIME_FIELDS:
            msg[key] = "not-a-date"
    return _q(msg)
