"""Turn Snowplow atomic events into our Segment-spec JSON-lines dumps.

Test data source (not copied into this repo; read from the `shared/peers` folder beside it):

* `snowplow_web_0.15.2/`: integration-test data of snowplow/dbt-snowplow-web, tag 0.15.2
  (commit c1bb2e1627abb72942209c6d4d37a264613aa42e), the last Apache-2.0 release.
* `dbt-labs_snowplow/`: integration-test seeds of dbt-labs/snowplow v0.14.0
  (commit 82d63829766e4c2ef0dfa64f0a4acda563241441), Apache-2.0.

Both are Copyright their authors and licensed under the Apache License 2.0; each folder keeps
its LICENSE and SOURCE.txt. We use them only as test fixtures (an external yardstick for
sessions, page views and user stitching).

Field mapping (shared/peers/README.md): event_id -> messageId, domain_userid -> anonymousId,
user_id -> userId, derived_tstamp -> timestamp, dvce_created_tstamp -> originalTimestamp,
dvce_sent_tstamp -> sentAt, collector_tstamp -> receivedAt, page_url / page_urlpath /
page_urlquery / page_title / page_referrer -> context.page.{url, path, search, title,
referrer}, mkt_* -> context.campaign.*, useragent -> context.userAgent, domain_sessionid ->
context.sessionId; `page_view` events become `page` messages, every other event a `track`
message whose `event` is the Snowplow event_name (page_ping, link_click, ...). A message goes
to the dump folder of its collector_tstamp date (the day the collector received it).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

# The dbt-labs seeds write SQL NULL as the text NULL; snowplow-web leaves the field empty.
NULL_TEXTS = {"", "NULL"}

REPO_ROOT = Path(__file__).resolve().parents[2]
PEERS_DIR = REPO_ROOT.parent / "shared" / "peers"
SNOWPLOW_WEB_DIR = PEERS_DIR / "snowplow_web_0.15.2" / "integration_tests" / "data"
DBT_LABS_SNOWPLOW_DIR = PEERS_DIR / "dbt-labs_snowplow" / "integration_tests" / "seeds"


def read_csv(path: Path) -> list[dict[str, str | None]]:
    """Rows of a peer CSV, with NULL / empty fields as None."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [
            {key: (None if value in NULL_TEXTS else value) for key, value in row.items()}
            for row in csv.DictReader(handle)
        ]


def to_iso(timestamp: str | None) -> str | None:
    """'2021-03-02 07:23:19.675' (UTC) -> '2021-03-02T07:23:19.675Z'."""
    if timestamp is None:
        return None
    return timestamp.strip().replace(" ", "T") + "Z"


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def to_segment(row: dict[str, str | None]) -> dict[str, Any]:
    """One Snowplow atomic event as a Segment-spec message."""
    is_page_view = row["event_name"] == "page_view"
    context: dict[str, Any] = {"library": {"name": row.get("v_tracker") or "snowplow"}}
    page = _compact({
        "url": row.get("page_url"),
        "path": row.get("page_urlpath"),
        "search": row.get("page_urlquery"),
        "title": row.get("page_title"),
        "referrer": row.get("page_referrer"),
    })
    if page:
        context["page"] = page
    campaign = _compact({
        "source": row.get("mkt_source"),
        "medium": row.get("mkt_medium"),
        "name": row.get("mkt_campaign"),
        "term": row.get("mkt_term"),
        "content": row.get("mkt_content"),
    })
    if campaign:
        context["campaign"] = campaign
    if row.get("useragent"):
        context["userAgent"] = row["useragent"]
    if row.get("domain_sessionid"):
        context["sessionId"] = row["domain_sessionid"]
    message = _compact({
        "type": "page" if is_page_view else "track",
        "messageId": row["event_id"],
        "anonymousId": row.get("domain_userid"),
        "userId": row.get("user_id"),
        "timestamp": to_iso(row.get("derived_tstamp")),
        "originalTimestamp": to_iso(row.get("dvce_created_tstamp")),
        "sentAt": to_iso(row.get("dvce_sent_tstamp")),
        "receivedAt": to_iso(row.get("collector_tstamp")),
        "name": row.get("page_title") if is_page_view else None,
        "event": None if is_page_view else row["event_name"],
    })
    message["context"] = context
    return message


def write_dumps(rows: Iterable[dict[str, str | None]], raw_dir: Path, file_name: str) -> list[str]:
    """Write the rows, in file order, as `raw_dir/<collector date>/<file_name>`; return the
    received days written."""
    by_day: dict[str, list[str]] = {}
    for row in rows:
        message = to_segment(row)
        by_day.setdefault(message["receivedAt"][:10], []).append(json.dumps(message))
    for day, lines in by_day.items():
        folder = raw_dir / day
        folder.mkdir(parents=True, exist_ok=True)
        (folder / file_name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return sorted(by_day)


def normalize_path(path: str | None) -> str | None:
    """Our page_path rule (macro normalize_path): no query or fragment, no trailing slash
    except for the root."""
    if path is None:
        return None
    path = path.split("?", 1)[0].split("#", 1)[0]
    while len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    return path or "/"
