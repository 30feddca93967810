"""Helpers for the sessions / page views / page metrics integration tests.

Write Segment-spec JSON-lines dumps into a temporary raw folder, load them with the real
loader (`orchestration.ingest.duckdb_loader.load_day`) and run the dbt project in-process
(dbtRunner) on a temporary DuckDB warehouse with its own target and log folders, so test
modules never share state with each other or with `data/`.

dbt-duckdb keeps the database open in the process after a run, so the warehouse is read (and
loaded) through connections with the default configuration (not read-only): DuckDB refuses a
second instance of the same file with a different configuration.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from orchestration.ingest.duckdb_loader import load_day

REPO_ROOT = Path(__file__).resolve().parents[2]

# The models these tests build, their parents (staging, identity), the identity graph whose
# customers they attribute events to, and every test whose parents are all built: tests of
# other marts (customer_360, ...) are not selected.
SESSIONS_SELECTION = [
    "+page_metrics_daily", "+screen_metrics_daily", "+sessions", "+page_views", "+screen_views",
    "identity_graph",
]


def iso(value: dt.datetime | str) -> str:
    """ISO-8601 UTC text as trackers send it."""
    if isinstance(value, str):
        return value
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def message(
    type_: str,
    message_id: str,
    at: dt.datetime | str,
    *,
    received_at: dt.datetime | str | None = None,
    anonymous_id: str | None = None,
    user_id: str | None = None,
    path: str | None = None,
    url: str | None = None,
    title: str | None = None,
    referrer: str | None = None,
    event: str | None = None,
    properties: dict[str, Any] | None = None,
    traits: dict[str, Any] | None = None,
    tracker_session_id: str | None = None,
    analytics_consent: bool | None = None,
    campaign: dict[str, str] | None = None,
    host: str = "https://shop.example.com",
    name: str | None = None,
    app: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One Segment-spec message (camelCase, as Segment and RudderStack write them). `name` is
    a screen's name; `app` adds a mobile library's context: its `app`, `device`, `os` and
    `network` entries (MOBILE_APP is an iPhone app)."""
    msg: dict[str, Any] = {
        "type": type_,
        "messageId": message_id,
        "timestamp": iso(at),
        "receivedAt": iso(received_at if received_at is not None else at),
        "context": {"library": {"name": "analytics.js"}},
    }
    if anonymous_id is not None:
        msg["anonymousId"] = anonymous_id
    if user_id is not None:
        msg["userId"] = user_id
    if path is not None or url is not None:
        page = {"path": path, "url": url or f"{host}{path}", "title": title or path}
        if referrer is not None:
            page["referrer"] = referrer
        msg["context"]["page"] = page
        if type_ == "page":
            msg["name"] = title or path
    if event is not None:
        msg["event"] = event
    if properties is not None:
        msg["properties"] = properties
    if traits is not None:
        msg["traits"] = traits
    if tracker_session_id is not None:
        msg["context"]["sessionId"] = tracker_session_id
    if analytics_consent is not None:
        msg["context"]["consent"] = {"categoryPreferences": {"Analytics": analytics_consent}}
    if campaign is not None:
        msg["context"]["campaign"] = campaign
    if name is not None:
        msg["name"] = name
        msg["properties"] = {**(properties or {}), "name": name}
    if app is not None:
        msg["context"].update(app)
    return msg


# The context Segment's iOS library sends with every message of an app.
MOBILE_APP: dict[str, Any] = {
    "library": {"name": "analytics-ios", "version": "4.1.8"},
    "app": {"name": "Shop", "version": "3.2.1", "build": "321", "namespace": "com.example.shop"},
    "device": {"type": "ios", "model": "iPhone15,2", "manufacturer": "Apple"},
    "os": {"name": "iOS", "version": "17.4.1"},
    "network": {"wifi": True, "cellular": False, "carrier": "T-Mobile"},
}


def write_dump(
    raw_dir: Path, day: str, messages: Iterable[dict[str, Any]], name: str = "events.jsonl"
) -> Path:
    """Write (or replace) one dump file in the `YYYY-MM-DD` folder of `raw_dir`."""
    folder = raw_dir / day
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(json.dumps(m) + "\n" for m in messages))
    return path


def received_day(msg: dict[str, Any]) -> str:
    """The dump folder a message lands in: the UTC date of its receivedAt."""
    return msg["receivedAt"][:10]


def write_dumps_by_received_day(raw_dir: Path, messages: Iterable[dict[str, Any]]) -> list[str]:
    """Write each message into the folder of its received day; return the days, sorted."""
    by_day: dict[str, list[dict[str, Any]]] = {}
    for msg in messages:
        by_day.setdefault(received_day(msg), []).append(msg)
    for day, day_messages in by_day.items():
        write_dump(raw_dir, day, day_messages)
    return sorted(by_day)


@contextlib.contextmanager
def connect(warehouse: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    conn = duckdb.connect(str(warehouse))
    try:
        conn.execute("set timezone = 'UTC'")
        yield conn
    finally:
        conn.close()


def load_days(warehouse: Path, raw_dir: Path, days: Sequence[str]) -> None:
    """Load (replace) received days into raw.events with the project's loader."""
    with connect(warehouse) as conn:
        for day in days:
            report = load_day(conn, raw_dir, day)
            assert report.accounted, report
            assert report.quarantined == 0, report.quarantine_by_reason


def query(warehouse: Path, sql: str) -> pd.DataFrame:
    """Run a query; SQL nulls come back as None (not NaN) in every column."""
    with connect(warehouse) as conn:
        frame = conn.execute(sql).df()
    return frame.astype(object).where(frame.notna(), None)


def _release_dbt_duckdb() -> None:
    """Close the DuckDB instance dbt-duckdb keeps open in this process after an invocation.

    Otherwise a test that opens the warehouse with another configuration (`cdp explain` opens
    it read-only) fails with "Can't open a connection to same database file with a different
    configuration", but only when no later dbt call on another warehouse happened to replace
    the instance first (the test passed in file order and failed alone)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


# Parsed manifests, by warehouse file name: dbt-duckdb names the database after the file's
# stem and the manifest holds that name, so warehouses that share a file name (in different
# folders) can share one parse, which saves several seconds per dbt call.
_MANIFESTS: dict[str, Any] = {}


@dataclass
class DbtProject:
    """The repo's dbt project pointed at one temporary warehouse."""

    warehouse: Path
    work_dir: Path

    def _common_args(self) -> list[str]:
        return [
            "--project-dir", str(REPO_ROOT),
            "--profiles-dir", str(REPO_ROOT),
            "--target-path", str(self.work_dir / "target"),
            "--log-path", str(self.work_dir / "logs"),
            "--quiet",
        ]

    def _invoke(self, args: list[str], manifest: Any = None) -> Any:
        from dbt.cli.main import dbtRunner

        previous = os.environ.get("CDP_WAREHOUSE")
        os.environ["CDP_WAREHOUSE"] = str(self.warehouse)
        try:
            result = dbtRunner(manifest=manifest).invoke(args)
        finally:
            _release_dbt_duckdb()
            if previous is None:
                os.environ.pop("CDP_WAREHOUSE", None)
            else:
                os.environ["CDP_WAREHOUSE"] = previous
        if not result.success:
            raise AssertionError(f"dbt {' '.join(args)} failed:\n{describe_failures(result)}")
        return result

    def manifest(self) -> Any:
        key = self.warehouse.name
        if key not in _MANIFESTS:
            _MANIFESTS[key] = self._invoke(["parse", *self._common_args()]).result
        return _MANIFESTS[key]

    def run(
        self,
        command: str,
        *,
        select: Sequence[str] = SESSIONS_SELECTION,
        variables: dict[str, Any] | None = None,
        full_refresh: bool = False,
        extra: Sequence[str] = (),
    ) -> Any:
        """Run one dbt command in-process; raise with dbt's messages when it fails."""
        args = [command, *self._common_args(), "--indirect-selection", "cautious"]
        if select:
            args += ["--select", *select]
        if variables:
            args += ["--vars", json.dumps(variables)]
        if full_refresh:
            args.append("--full-refresh")
        args += list(extra)
        return self._invoke(args, manifest=self.manifest())

    def build(self, **kwargs: Any) -> Any:
        return self.run("build", **kwargs)

    def build_day(self, day: str, *, with_tests: bool = False, **kwargs: Any) -> Any:
        """The build Dagster runs after loading received day `day`: the incremental models
        process the days loaded since their last run (raw.load_log), so nothing names the day;
        seeds and models only unless `with_tests`."""
        skipped = ["unit_test"] if with_tests else ["test", "unit_test"]
        return self.run("build", extra=["--exclude-resource-type", *skipped], **kwargs)


def describe_failures(result: Any) -> str:
    if result.exception is not None:
        return repr(result.exception)
    lines = []
    for node_result in getattr(result.result, "results", None) or []:
        status = str(getattr(node_result, "status", ""))
        if status.lower() not in ("success", "pass", "warn"):
            lines.append(f"{node_result.node.unique_id}: {status}: {node_result.message}")
    return "\n".join(lines) or "no node failed; see the dbt log"


def warn_count(result: Any, test_name: str) -> int:
    """Failures reported by a warn-severity test of a `dbt build` result (0 when it passed)."""
    for node_result in result.result.results:
        if node_result.node.name == test_name:
            return int(node_result.failures or 0)
    raise KeyError(f"{test_name} was not run")


# Manifests parsed with vars that decide configs (which models are enabled, a model's config
# value): by warehouse file name and vars, like _MANIFESTS.
_VAR_MANIFESTS: dict[tuple[str, str], Any] = {}


def manifest_for(project: DbtProject, parse_vars: dict[str, Any]) -> Any:
    """The project parsed with `parse_vars` (cached): a var that enables or disables a model, or
    that sets a config, must be known when dbt parses, as it is in a Dagster run."""
    if not parse_vars:
        return project.manifest()
    key = (project.warehouse.name, json.dumps(parse_vars, sort_keys=True))
    if key not in _VAR_MANIFESTS:
        args = ["parse", *project._common_args(), "--vars", json.dumps(parse_vars)]
        _VAR_MANIFESTS[key] = project._invoke(args).result
    return _VAR_MANIFESTS[key]


def build_parsed_with(
    project: DbtProject,
    parse_vars: dict[str, Any],
    *,
    select: Sequence[str],
    variables: dict[str, Any] | None = None,
    extra: Sequence[str] = (),
) -> Any:
    """`dbt build` (cautious indirect selection) with a manifest parsed with `parse_vars`;
    `variables` (run-time vars, on top of `parse_vars`) only reach what dbt renders at run time."""
    args = [
        "build", *project._common_args(), "--indirect-selection", "cautious",
        "--select", *select, "--vars", json.dumps({**parse_vars, **(variables or {})}), *extra,
    ]
    return project._invoke(args, manifest=manifest_for(project, parse_vars))
