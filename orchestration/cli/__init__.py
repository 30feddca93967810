"""`cdp`: the command line of the customer data platform.

`cdp build` and `cdp demo` run the same Dagster job the nightly schedule runs, in-process,
over every day folder found, and print a summary. Exit status is non-zero on any failure,
with the failing file or dbt model named. One module per group of commands; what they share
is in `common.py`.
"""

from __future__ import annotations

import click

from orchestration.cli import audiences, build, explain, privacy, ui


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cdp")
def main() -> None:
    """A batch customer data platform: Segment-spec dumps -> DuckDB -> dbt -> marts."""


for command in (
    build.generate, build.build, build.demo, explain.explain, privacy.forget,
    privacy.export_command, audiences.audiences, ui.ui,
):
    main.add_command(command)

