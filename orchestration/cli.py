"""`cdp`: the command line of the customer data platform.

`cdp build` and `cdp demo` run the same Dagster job the nightly schedule runs, in-process,
over every day folder found, and print a summary. Exit status is non-zero on any failure,
with the failing file or dbt model named.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
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
        err_console.print(f"[bold red]error:[/] {self.message}", soft_wrap=True)


def _use_paths(raw_dir: Path | None = None, warehouse: Path | None = None) -> tuple[Path, Path]:
    """The dump root and the warehouse: the options when given, else the settings."""
    raw = raw_dir.expanduser().resolve() if raw_dir is not None else settings.raw_dir()
    wh = warehouse.expanduser().resolve() if warehouse is not None else settings.warehouse_path()
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
    from orchestration.ingest.folders import find_day_folders

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
    from orchestration.defs.resources import WarehouseResource

    console.print(
        "\nnext: read the marts from the published copy "
        f"[bold]{WarehouseResource(warehouse=str(wh)).publish_path}[/] (any DuckDB client or BI "
        "tool, read-only; see the README's 'Query the marts'), open the UI with "
        "[bold]uv run dagster dev[/], or try "
        "[bold]uv run cdp explain --email <an email from marts.customer_360>[/]"
    )


def run_build(raw: Path, warehouse: Path, *, full_refresh: bool) -> None:
    """Run the nightly job in-process over the day folders under `raw` that are new or
    changed since they were loaded (every folder on a first build or a full refresh)."""
    from orchestration.defs.runner import BuildFailed, plan_days, run_nightly_job
    from orchestration.ingest.folders import find_day_folders

    found = find_day_folders(raw)
    if not found:
        raise CdpError(f"{raw}: no YYYY-MM-DD dump folders found (set CDP_RAW_DIR or --raw-dir)")
    days, only_changed = plan_days(raw, warehouse, full_refresh)
    console.print(
        f"building {warehouse} from {raw}: {len(found)} day folder(s), run over "
        f"{days[0]} .. {days[-1]}" + (" (new or changed folders only)" if only_changed else "")
    )
    _quiet_library_loggers()
    try:
        summary = run_nightly_job(raw, warehouse, days, full_refresh=full_refresh,
                                  only_changed_days=only_changed, echo=_echo)
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
        ("suppressed (erased ids)", "suppressed"), ("erasures completed", "erasures_completed"),
        ("rows erased", "rows_erased"), ("consent-excluded msgs", "consent_excluded"),
        ("models built", "models_built"), ("tests passed", "tests_passed"),
        ("tests warned", "tests_warned"), ("seconds", "seconds"),
    ]:
        value = summary.get(key, 0)
        table.add_row(label, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    if summary.get("quarantine_by_reason"):
        reasons = ", ".join(f"{k}: {v}" for k, v in summary["quarantine_by_reason"].items())
        console.print(f"quarantined by reason: {reasons} (see raw.quarantine)")


def _one_identifier(
    user_id: str | None, email: str | None, anonymous_id: str | None, phone: str | None
) -> tuple[str, str]:
    given = [(t, v) for t, v in (("user_id", user_id), ("email", email),
                                 ("anonymous_id", anonymous_id), ("phone", phone)) if v]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --user-id, --email, --anonymous-id, --phone")
    return given[0]


def _identifier_options(fn):  # noqa: ANN001, ANN202 - a click decorator
    for option in reversed([
        click.option("--user-id", "user_id"),
        click.option("--email"),
        click.option("--anonymous-id", "anonymous_id"),
        click.option("--phone"),
        click.option("--warehouse", type=click.Path(path_type=Path), default=None,
                     help="DuckDB file (default: CDP_WAREHOUSE, else data/warehouse.duckdb)."),
    ]):
        fn = option(fn)
    return fn


@main.command()
@_identifier_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def explain(
    user_id: str | None, email: str | None, anonymous_id: str | None, phone: str | None,
    warehouse: Path | None, as_json: bool,
) -> None:
    """The customer of an identifier, its identifiers, and the links joining each to the anchor."""
    from orchestration.identity.explain import explain_customer

    identifier = _one_identifier(user_id, email, anonymous_id, phone)
    _, wh = _use_paths(None, warehouse)
    try:
        report = explain_customer(wh, *identifier)
    except LookupError as exc:
        raise CdpError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
        return
    _print_explanation(report)


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


# --- privacy: erasure and access requests (orchestration/privacy/) ---------------------


def _locked_message(warehouse: Path, exc: Exception) -> str:
    return (
        f"{warehouse}: cannot open the warehouse ({_first_error_line(exc)}); "
        "a build may be running: try again when it has finished"
    )


def _first_error_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@main.command()
@_identifier_options
def forget(
    user_id: str | None, email: str | None, anonymous_id: str | None, phone: str | None,
    warehouse: Path | None,
) -> None:
    """GDPR erasure request: the next build erases the whole customer of this identifier.

    Only a salted hash of the identifier is stored (privacy.requests). The next `cdp build`
    (or nightly run) deletes every message, quarantined line and derived row of the customer
    and adds its identifiers to the suppression list, so later dumps carrying them are dropped
    at load time.
    """
    import duckdb

    from orchestration import privacy

    identifier_type, value = _one_identifier(user_id, email, anonymous_id, phone)
    _, wh = _use_paths(None, warehouse)
    if not wh.exists():
        raise CdpError(f"{wh}: no warehouse (run `cdp build` first, or pass --warehouse)")
    try:
        with duckdb.connect(str(wh)) as conn:
            known = privacy.identifier_in_graph(conn, identifier_type, value)
            request_id, created = privacy.record_request(conn, identifier_type, value)
    except ValueError as exc:
        raise CdpError(str(exc)) from None
    except privacy.PrivacyError as exc:
        raise CdpError(f"privacy: {exc}") from None
    except duckdb.IOException as exc:
        raise CdpError(_locked_message(wh, exc)) from None
    verb = "recorded" if created else "already pending as"
    console.print(
        f"erasure request {verb} [bold]{request_id}[/] ({identifier_type}; only its salted hash "
        "is stored). The next `cdp build` erases the customer and suppresses its identifiers."
    )
    if not known:
        console.print(
            f"note: this {identifier_type} is not in marts.identity_graph of the last build: "
            "the messages carrying it will be erased, but no other identifier can be tied to it."
        )


@main.command("export")
@_identifier_options
@click.option("--out", type=click.Path(path_type=Path), required=True,
              help="JSON file to write (it holds personal data: created with mode 0600).")
def export_command(
    user_id: str | None, email: str | None, anonymous_id: str | None, phone: str | None,
    warehouse: Path | None, out: Path,
) -> None:
    """Access request: everything held on the customer of this identifier, as one JSON file.

    Identifiers (identity graph), the customer_360 row and traits, identity conflicts, every
    raw message carrying one of its identifiers (payload parsed), quarantined lines mentioning
    one, sessions and page views. Reads the warehouse read-only.
    """
    import duckdb

    from orchestration import privacy

    identifier_type, value = _one_identifier(user_id, email, anonymous_id, phone)
    _, wh = _use_paths(None, warehouse)
    try:
        report = privacy.export_customer(wh, identifier_type, value)
    except (LookupError, ValueError) as exc:
        raise CdpError(str(exc)) from None
    except duckdb.IOException as exc:
        raise CdpError(_locked_message(wh, exc)) from None
    path = privacy.write_export(report, out)
    console.print(
        f"wrote {path}: customer {report['customer_id']}, {len(report['identifiers'])} "
        f"identifiers, {len(report['events'])} events, {len(report['sessions'])} sessions, "
        f"{len(report['page_views'])} page views, {len(report['quarantined_lines'])} "
        "quarantined lines",
        markup=False,
    )


# --- audiences (orchestration/audiences/) ----------------------------------------------


@main.command()
@click.option("--warehouse", type=click.Path(path_type=Path), default=None,
              help="DuckDB file (default: CDP_WAREHOUSE, else data/warehouse.duckdb).")
def audiences(warehouse: Path | None) -> None:
    """Audiences (dbt_project/models/marts/audiences/), their sizes and destinations.

    Members, and who entered and left, as of the last build; `no consent` counts customers
    meeting the condition whose latest consent does not allow the audience's category.
    """
    import duckdb

    from orchestration.audiences import (
        AudienceError,
        export_dir_for,
        latest_sizes,
        load_audiences,
        member_counts,
    )

    _, wh = _use_paths(None, warehouse)
    try:
        defined = load_audiences()
    except AudienceError as exc:
        raise CdpError(str(exc)) from None
    sizes: dict = {}
    counts: dict = {}
    if wh.exists():
        try:
            with duckdb.connect(str(wh), read_only=True) as conn:
                sizes = latest_sizes(conn)
                counts = member_counts(conn, defined)
        except duckdb.IOException as exc:
            raise CdpError(_locked_message(wh, exc)) from None
    if not defined:
        console.print("no audiences defined (add one under dbt_project/models/marts/audiences/)")
        return
    table = Table(box=None, header_style="bold", pad_edge=False)
    for column in ("audience", "members", "entered", "left", "no consent"):
        table.add_column(column, justify="left" if column == "audience" else "right",
                         no_wrap=True)
    for audience in defined:
        members = counts.get(audience.name)
        size = sizes.get(audience.name) or {}
        table.add_row(
            audience.name,
            "not built" if members is None else f"{members:,}",
            *(f"{size[k]:,}" if size else "-"
              for k in ("entered", "exited", "excluded_without_consent")),
        )
    console.print(table)
    for audience in defined:
        console.print(
            f"\n{audience.name}: {audience.description}\n  where {audience.condition}\n"
            f"  consent {audience.consent_category}; destinations "
            f"{', '.join(audience.destinations) or '(none)'}",
            markup=False, highlight=False,
        )
    built = max((str(s["built_at"])[:19] for s in sizes.values()), default=None)
    if built:
        console.print(
            f"\nas of the build of {built} UTC in {wh}; files under "
            f"{export_dir_for(wh)}/<destination>/", markup=False,
        )
    elif not wh.exists():
        console.print(f"{wh}: no warehouse yet (run `cdp build`)")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
