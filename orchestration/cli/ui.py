"""`cdp ui`: the Dagster UI on the project's instance, where `cdp build` records its runs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import click

from orchestration import settings
from orchestration.cli.common import CdpError, console, use_paths


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=3000, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--raw-dir", type=click.Path(path_type=Path), default=None,
              help="Dump root the sensor watches (default: CDP_RAW_DIR, else data/raw).")
@click.option("--warehouse", type=click.Path(path_type=Path), default=None,
              help="DuckDB file (default: CDP_WAREHOUSE, else data/warehouse.duckdb).")
def ui(port: int, host: str, raw_dir: Path | None, warehouse: Path | None) -> None:
    """The Dagster UI (`dg dev`) on the instance `cdp build` and `cdp demo` record runs in.

    The instance is DAGSTER_HOME, else the project's `.dagster/` (created with
    deploy/dagster.yaml). Ctrl-C stops the UI.
    """
    from orchestration.defs.instance import prepare_home

    raw, wh = use_paths(raw_dir, warehouse)
    home = prepare_home(settings.dagster_home())
    dg = shutil.which("dg", path=str(Path(sys.executable).parent)) or shutil.which("dg")
    if dg is None:
        raise CdpError("`dg` (dagster-dg-cli) is not installed: run `uv sync` in the project")
    console.print(f"Dagster UI on http://{host}:{port} for {wh}, instance {home}; Ctrl-C stops it")
    command = [dg, "dev", "--port", str(port), "--host", host]
    process = subprocess.Popen(
        command, cwd=settings.REPO_ROOT, env=settings.ui_environment(raw, wh, home)
    )
    try:
        code = process.wait()
    except KeyboardInterrupt:  # the UI got the same Ctrl-C: let it shut down
        code = process.wait()
    if code not in (0, -2, 130):
        raise CdpError(f"the Dagster UI stopped with exit status {code}")
