"""Telling people when the night goes wrong: a Slack-style JSON message to a webhook.

The Dagster sensor in orchestration/defs/alerts.py calls `failure_message` and `post_alert`
when a run fails (a failing step, or a dbt test of severity error). The webhook is
CDP_ALERT_WEBHOOK (Slack, Teams, Mattermost and most chat tools accept `{"text": ...}`).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterable

MAX_LINES = 20


def failure_message(job: str, run_id: str, partitions: str | None, causes: Iterable[str]) -> dict:
    """The webhook payload: one `text` for chat tools, and the same facts as fields."""
    causes = [c.strip() for c in causes if c and c.strip()]
    shown = causes[:MAX_LINES] + ([f"... and {len(causes) - MAX_LINES} more"]
                                  if len(causes) > MAX_LINES else [])
    where = f" over {partitions}" if partitions else ""
    text = f"cdp: run {run_id[:8]} of {job}{where} failed"
    if shown:
        text += ":\n" + "\n".join(f"- {c}" for c in shown)
    return {"text": text, "job": job, "run_id": run_id, "partitions": partitions,
            "causes": causes}


def post_alert(url: str, payload: dict, timeout: float = 10.0) -> None:
    """POST the payload as JSON; raises OSError with the webhook's answer when it fails."""
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise OSError(f"webhook {url} answered {exc.code} {exc.reason}") from None
