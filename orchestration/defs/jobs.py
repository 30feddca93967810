"""The nightly job, its schedule, and the sensor that notices new dump folders."""


import datetime as dt
import json

import dagster as dg

from orchestration.defs.partitions import partitions_for
from orchestration.defs.resources import WarehouseResource
from orchestration.defs.runner import DBT_OP
from orchestration.ingest.folders import find_day_folders, folder_fingerprint

nightly_job = dg.define_asset_job(
    name="cdp_nightly",
    selection=dg.AssetSelection.all(),
    description=(
        "Load the day's dump folder(s) into raw.events, then dbt build: staging, identity, "
        "sessions and marts, with every dbt test as an asset check."
    ),
)


# The night whose run tests every row, not only the rows of the day it loads.
FULL_TESTS_WEEKDAY = 6  # Sunday (date.weekday())


@dg.schedule(
    job=nightly_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    description=(
        "Every night at 02:00 UTC: load yesterday's dump folder and rebuild the marts; its dbt "
        "tests read the day's rows (and the marts whole), on Sundays every row."
    ),
)
def nightly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    scheduled = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
    day = (scheduled.date() - dt.timedelta(days=1)).isoformat()
    full_tests = scheduled.weekday() == FULL_TESTS_WEEKDAY
    return dg.RunRequest(
        run_key=f"nightly-{day}", partition_key=day,
        run_config={"ops": {DBT_OP: {"config": {"full_tests": full_tests}}}},
        tags={"cdp/tests": "full" if full_tests else "day"},
    )


@dg.sensor(
    job=nightly_job,
    minimum_interval_seconds=60,
    description=(
        "Requests the day's partition when a dump folder appears or its files change. The first "
        "evaluation only records what is there (load history with `cdp build` or a backfill)."
    ),
)
def new_dump_folder_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SensorResult:
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    first_tick = context.cursor is None
    partition_keys = set(partitions_for(warehouse.raw_path).get_partition_keys())
    current: dict[str, str] = {}
    requests = []
    for day in find_day_folders(warehouse.raw_path):
        fingerprint = folder_fingerprint(warehouse.raw_path / day)
        current[day] = fingerprint
        if first_tick or seen.get(day) == fingerprint or fingerprint == "empty":
            continue
        if day not in partition_keys:
            context.log.warning(f"{day}: outside the daily partitions, not requested")
            continue
        requests.append(dg.RunRequest(run_key=f"{day}:{fingerprint}", partition_key=day))
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(current, sort_keys=True))
