"""A failed nightly run is logged and posted to the webhook (a local HTTP server here)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import dagster as dg
import pytest

from orchestration.alerts import MAX_LINES, failure_message
from orchestration.defs.alerts import nightly_failure_alert


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict]]]:
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server name
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook", received
    finally:
        server.shutdown()
        server.server_close()


@dg.op
def load_day() -> None:
    raise RuntimeError("2026-03-02/a.jsonl.gz: truncated gzip")


@dg.job(name="cdp_nightly")
def failing_nightly() -> None:
    load_day()


def failed_run_context() -> dg.RunFailureSensorContext:
    instance = dg.DagsterInstance.ephemeral()
    result = failing_nightly.execute_in_process(
        instance=instance, raise_on_error=False,
        tags={"dagster/asset_partition_range_start": "2026-03-01",
              "dagster/asset_partition_range_end": "2026-03-02"},
    )
    assert not result.success
    return dg.build_run_status_sensor_context(
        sensor_name="nightly_failure_alert",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
    ).for_run_failure()


def test_a_failed_run_posts_its_cause_and_partitions_to_the_webhook(webhook, monkeypatch):
    url, received = webhook
    monkeypatch.setenv("CDP_ALERT_WEBHOOK", url)
    nightly_failure_alert(failed_run_context())
    (payload,) = received
    assert payload["job"] == "cdp_nightly"
    assert payload["partitions"] == "2026-03-01..2026-03-02"
    cause = "step load_day: RuntimeError: 2026-03-02/a.jsonl.gz: truncated gzip"
    assert payload["causes"] == [cause]
    assert payload["text"].startswith("cdp: run ")
    assert f"failed:\n- {cause}" in payload["text"]


def test_without_a_webhook_the_failure_is_only_logged(webhook, monkeypatch):
    _, received = webhook
    monkeypatch.delenv("CDP_ALERT_WEBHOOK", raising=False)
    nightly_failure_alert(failed_run_context())
    assert received == []


def test_a_long_list_of_causes_is_cut_in_the_text_but_kept_in_full():
    causes = [f"check {i} failed" for i in range(MAX_LINES + 5)]
    payload = failure_message("cdp_nightly", "0123456789abcdef", "2026-03-01", causes)
    assert payload["causes"] == causes
    assert payload["text"].count("\n- ") == MAX_LINES + 1
    assert payload["text"].endswith("- ... and 5 more")
