"""What every `cdp` command shares: the consoles, one-line errors, paths, identifier options."""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from orchestration import settings
from orchestration.warehouse import WarehouseLockedError

console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)


class CdpError(click.ClickException):
    """A failure the user can act on: printed without a traceback, exit status 1."""

    def show(self, file=None) -> None:  # noqa: ANN001 - click's signature
        err_console.print(f"[bold red]error:[/] {self.message}", soft_wrap=True)


def use_paths(raw_dir: Path | None = None, warehouse: Path | None = None) -> tuple[Path, Path]:
    """The dump root and the warehouse: the options when given, else the settings."""
    raw = raw_dir.expanduser().resolve() if raw_dir is not None else settings.raw_dir()
    wh = warehouse.expanduser().resolve() if warehouse is not None else settings.warehouse_path()
    return raw, wh


def one_identifier(
    user_id: str | None, email: str | None, anonymous_id: str | None, phone: str | None
) -> tuple[str, str]:
    given = [(t, v) for t, v in (("user_id", user_id), ("email", email),
                                 ("anonymous_id", anonymous_id), ("phone", phone)) if v]
    if len(given) != 1:
        raise click.UsageError("give exactly one of --user-id, --email, --anonymous-id, --phone")
    return given[0]


def identifier_options(fn):  # noqa: ANN001, ANN202 - a click decorator
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


def warehouse_error(warehouse: Path, exc: Exception) -> CdpError:
    """One line for a warehouse that cannot be opened: the lock message of
    orchestration.warehouse (which process holds it, what to read instead) when it is locked."""
    if isinstance(exc, WarehouseLockedError):
        return CdpError(str(exc))
    return CdpError(f"{warehouse}: cannot open the warehouse ({_first_error_line(exc)})")


def _first_error_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
