"""`cdp`: the command line of the customer data platform.

`cdp build` and `cdp demo` run the same Dagster job the nightly schedule runs, in-process,
over every day folder found, and print a summary. Exit status is non-zero on any failure,
with the failing file or dbt model named.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import sys
import time
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from orchestration import settings

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)


class CdpError(click.ClickException):
    """A failure the user can act on: printed without a traceback, exit status 1."""

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        err_console.print(f"[bold red]error:[/] {self.message}")


def _use_paths(raw_dir: Path | None = None, warehouse: Path | None = None) -> tuple[Path, Path]:
    """Make the chosen paths absolute and visible to dbt (through the environment)."""
    if raw_dir is not None:
        os.environ["CDP_RAW_DIR"] = str(raw_dir.expanduser().resolve())
    if warehouse is not None:
        os.environ["CDP_WAREHOUSE"] = str(warehouse.expanduser().resolve())
    raw, wh = settings.raw_dir(), settings.warehouse_path()
    os.environ["CDP_RAW_DIR"], os.environ["CDP_WAREHOUSE"] = str(raw), str(wh)
    return raw, wh


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cdp")
def main() -> None:
    """A batch customer data platform: Segment-spec dumps -> DuckDB -> dbt -> marts."""


@main.command()
@click.option("--days", type=click.IntRange(1, 3650), default=30, show_default=True)
@click.option("--customers", type=click.IntRange(1), default=2000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option(
    "--out", type=click.Path(path_type=Path), default=None,
    help="Output folder (default: CDP_RAW_DIR, else data/raw).",
)
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), default=None,
              help="First day (default: today minus --days).")
@click.option("--events", type=click.IntRange(1), default=None,
              help="Aim for about this many events (scales --customers).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
def generate(
    days: int, customers: int, seed: int, out: Path | None, start: dt.datetime | None,
    events: int | None, workers: int,
) -> None:
    """Write realistic Segment-spec sample dumps: OUT/YYYY-MM-DD/*.jsonl.gz."""
    from orchestration.generator import generate as run_generator

    target = out or settings.raw_dir()
    started = time.perf_counter()
    stats = run_generator(
        target, days=days, customers=customers, seed=seed,
        start=start.date() if start else None, events=events, workers=workers,
    )
    seconds = time.perf_counter() - started
    console.print(
        f"wrote {stats.lines:,} lines ({stats.events:,} events, {stats.duplicates:,} duplicates, "
        f"{stats.malformed:,} malformed) for {stats.customers:,} customers over {stats.days} "
        f"days into {target} in {seconds:.1f}s"
    )


@main.command()
@click.option("--raw-dir", type=click.Path(path_type=Path), default=None,
              help="Dump root with YYYY-MM-DD folders (default: CDP_RAW_DIR, else data/raw).")
@click.option("--warehouse", type=click.Path(path_type=Path), default=None,
              help="DuckDB file (default: CDP_WAREHOUSE, else data/warehouse.duckdb).")
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from scratch.")
def build(raw_dir: Path | None, warehouse: Path | None, full_refresh: bool) -> None:
    """Load every day folder found and run the dbt build, through the nightly Dagster job."""
    raw, wh = _use_paths(raw_dir, warehouse)
    run_build(raw, wh, full_refresh=full_refresh)


@main.command()
@click.option("--days", type=click.IntRange(1, 3650), default=30, show_default=True)
@click.option("--customers", type=click.IntRange(1), default=2000, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
def demo(days: int, customers: int, seed: int) -> None:
    """Generate a sample dump into CDP_RAW_DIR (if it is empty), then build everything."""
    from orchestration.generator import generate as run_generator
    from orchestration.ingestion import find_day_folders

    raw, wh = _use_paths()
    if find_day_folders(raw):
        console.print(f"{raw} already holds dump folders: using them as they are")
    else:
        console.print(f"generating {days} days of traffic for {customers:,} customers into {raw}")
        stats = run_generator(raw, days=days, customers=customers, seed=seed, workers=2)
        console.print(
            f"  {stats.lines:,} lines: {stats.events:,} events, {stats.duplicates:,} duplicate "
            f"retries, {stats.malformed:,} malformed lines"
        )
    run_build(raw, wh, full_refresh=False)
    console.print(
        "\nnext: query the marts with "
        f"[bold]duckdb {wh} \"select * from marts.page_metrics_daily limit 10\"[/], "
        "open the UI with [bold]uv run dagster dev[/], or try "
        "[bold]uv run cdp explain --email <an email from marts.customer_360>[/]"
    )


def run_build(raw: Path, warehouse: Path, *, full_refresh: bool) -> None:
    """Run the nightly job in-process over every day folder under `raw`."""
    from orchestration.build import BuildFailed, run_nightly_job
    from orchestration.ingestion import find_day_folders

    days = find_day_folders(raw)
    if not days:
        raise CdpError(f"{raw}: no YYYY-MM-DD dump folders found (set CDP_RAW_DIR or --raw-dir)")
    console.print(
        f"building {warehouse} from {len(days)} day folder(s) {days[0]} .. {days[-1]} in {raw}"
    )
    _quiet_library_loggers()
    try:
        summary = run_nightly_job(raw, warehouse, days, full_refresh=full_refresh, echo=_echo)
    except BuildFailed as exc:
        raise CdpError(str(exc)) from None
    _print_summary(summary)


def _echo(line: str) -> None:
    console.print(line, markup=False)


def _quiet_library_loggers() -> None:
    for name in ("dagster", "dbt", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _print_summary(summary: dict) -> None:
    table = Table(title="cdp build", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, key in [
        ("days loaded", "days"), ("lines read", "lines_read"), ("events loaded", "events_loaded"),
        ("duplicates", "duplicates"), ("quarantined", "quarantined"),
        ("models built", "models_built"), ("tests passed", "tests_passed"),
        ("tests warned", "tests_warned"), ("seconds", "seconds"),
    ]:
        value = summary.get(key, 0)
        table.add_row(label, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    if summary.get("quarantine_by_reason"):
        reasons = ", ".join(f"{k}: {v}" for k, v in summary["quarantine_by_reason"].items())
        console.print(f"quarantined by reason: {reasons} (see raw.quarantine)")


@main.command()
@click.option("--user-id", "user_id")
@click.option("--email")
@click.option("--anonymous-id", "anonymous_id")
@click.option("--warehouse", type=click.Path(path_type=Path), default=None)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def explain(
    user_id: str | None, email: str | None, anonymous_id: str | None, warehouse: Path | None,
    as_json: bool,
) -> None:
    """The customer of an identifier, its identifiers, and the links joining each to the anchor."""
    from orchestration.explain import explain_customer

    identifier = _one_identifier(user_id, email, anonymous_id)
    _, wh = _use_paths(None, warehouse)
    try:
        report = explain_customer(wh, *identifier)
    except LookupError as exc:
        raise CdpError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    _print_explanation(report)


def _one_identifier(user_id: str | None, email: str | None, anonymous_id: str | None
                    ) -> tuple[str, str]:
    given = [(t, v) for t, v in (("user_id", user_id), ("email", email),
                                 ("anonymous_id", anonymous_id)) if v]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --user-id, --email, --anonymous-id")
    return given[0]


def _print_explanation(report: dict) -> None:
    idents = report["identifiers"]
    console.print(
        f"customer [bold]{report['customer_id']}[/]: {len(idents)} identifiers, anchor "
        f"{report['anchor_type']} {report['anchor_value']}"
    )
    for ident in idents:
        console.print(
            f"\n  {ident['identifier_type']:<13} {ident['identifier_value']}"
            f"   seen {_ts(ident['first_seen_at'])} .. {_ts(ident['last_seen_at'])}"
            f" in {ident['messages']} message(s)", markup=False,
        )
        if not ident["path"]:
            console.print("      (the anchor)")
        for hop in ident["path"]:
            console.print(
                f"      -> {hop['to_type']} {hop['to_value']}  by message {hop['message_id']}"
                f" at {_ts(hop['first_seen_at'])}", markup=False,
            )
    if report["conflicts"]:
        console.print(f"\n{len(report['conflicts'])} link(s) set aside by merge protection:")
        for c in report["conflicts"]:
            console.print(
                f"  {c['identifier_type']} {c['identifier_value']} not joined to "
                f"{c['conflicting_identifier_type']} {c['conflicting_identifier_value']} "
                f"({c['rule']}; message {c['message_id']} at {_ts(c['occurred_at'])})",
                markup=False,
            )


def _ts(value: object) -> str:
    return str(value)[:19]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
