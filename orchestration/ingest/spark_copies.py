"""Which copy of a message wins, on Spark: the contract's rule for duplicates across days.

Of all copies of a message the one first by `COPY_ORDER` (earliest receivedAt, then file name,
then line) is in raw.events, whatever order the days are loaded in; each other day's best copy
is kept in raw.superseded, so that it can win again if the winner's day is reloaded without
it (`orchestration.ingest.contract`). The DuckDB loader applies the rule one day at a time,
moving single rows; Spark tables cannot update or delete rows, so here:

1. `rank_copies`, before any table is touched: the batch's best copy of each message per day,
   and the copies the other days hold of the same messages (and of the messages the batch's
   days held before), ranked; kept as a local checkpoint (`cdp_ranked`), since the tables it
   reads are about to change.
2. The loader writes the batch's days: winners to raw.events, the rest to raw.superseded.
3. `move_other_days`: a day outside the batch whose copy lost (or regained) the lead has its
   raw.events and raw.superseded partitions rewritten with the copy moved, and its load-log
   row recounted and stamped as reloaded (its loaded_at is now), as on DuckDB. That only
   happens when a later load brings an earlier copy (or takes the winner away): a day's
   partitions are rewritten whole, the price of tables without deletes.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from orchestration.ingest.contract import COPY_ORDER, DAY_COLUMN, LOAD_LOG

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

RANKED_VIEW = "cdp_ranked"
_COPY = "message_id, received_at, source_file, line_number, received_date"


def dates(days: list[dt.date]) -> str:
    """`date '...', ...` for an `in (...)` list."""
    return ", ".join(f"date '{day.isoformat()}'" for day in days)


def partitions(days: list[dt.date]) -> str:
    """`partition (received_date = '...'), ...` for `alter table ... drop`."""
    return ", ".join(f"partition ({DAY_COLUMN} = '{day.isoformat()}')" for day in days)


def table_columns(spark: SparkSession, table: str) -> str:
    """The table's columns in its order (the day, its partition column, last), as an insert
    without column names must list them."""
    return ", ".join(spark.table(table).columns)


def rank_copies(spark: SparkSession, days: list[dt.date]) -> DataFrame:
    """`cdp_ranked`: every copy in the running (the batch's best per day from `cdp_classified`,
    held_in 'day'; the other days' from raw.events or raw.superseded), `wins` for the first of
    each message by COPY_ORDER."""
    batch = dates(days)
    ranked = spark.sql(f"""
        with day_best as (
            select {_COPY}
            from (
                select *, row_number() over (
                    partition by message_id, received_date order by {COPY_ORDER}
                ) as copy_rank
                from cdp_classified
                where reason is null
            ) as valid
            where copy_rank = 1
        ),
        ids as (
            select message_id from day_best
            union select message_id from raw.events where {DAY_COLUMN} in ({batch})
            union select message_id from raw.superseded where {DAY_COLUMN} in ({batch})
        ),
        copies as (
            select {_COPY}, 'day' as held_in from day_best
            union all
            select {_COPY}, 'events' as held_in
            from raw.events left semi join ids using (message_id)
            where {DAY_COLUMN} not in ({batch})
            union all
            select {_COPY}, 'superseded' as held_in
            from raw.superseded left semi join ids using (message_id)
            where {DAY_COLUMN} not in ({batch})
        )
        select *, row_number() over (partition by message_id order by {COPY_ORDER}) = 1 as wins
        from copies
    """).localCheckpoint(eager=True)
    ranked.createOrReplaceTempView(RANKED_VIEW)
    return ranked


def batch_copies(wins: bool) -> str:
    """The batch's classified lines that go to raw.events (`wins`) or raw.superseded."""
    return f"""(
        select c.* from cdp_classified c
        left semi join (
            select source_file, line_number from {RANKED_VIEW}
            where held_in = 'day' and wins = {str(wins).lower()}
        ) r on r.source_file = c.source_file and r.line_number = c.line_number
    )"""


def move_other_days(spark: SparkSession) -> list[dt.date]:
    """Move the other days' copies that changed table (see the module docstring); return
    those days."""
    moved = sorted(row[0] for row in spark.sql(
        f"select distinct {DAY_COLUMN} from {RANKED_VIEW} "
        "where held_in <> 'day' and wins = (held_in = 'superseded')").collect())
    if not moved:
        return []
    losers = f"(select source_file, line_number from {RANKED_VIEW} " \
             "where held_in = 'events' and not wins)"
    winners = f"(select source_file, line_number from {RANKED_VIEW} " \
              "where held_in = 'superseded' and wins)"
    new = {}
    for table, stays, comes, other in (("raw.events", losers, winners, "raw.superseded"),
                                       ("raw.superseded", winners, losers, "raw.events")):
        columns = table_columns(spark, table)
        new[table] = spark.sql(f"""
            select {columns} from {table} t
            left anti join {stays} k on k.source_file = t.source_file
                and k.line_number = t.line_number
            where t.{DAY_COLUMN} in ({dates(moved)})
            union all
            select {columns} from {other} o
            left semi join {comes} k on k.source_file = o.source_file
                and k.line_number = o.line_number
        """).localCheckpoint(eager=True)
    loaded = dict(new["raw.events"].groupBy(DAY_COLUMN).count().collect())
    logs = [row.asDict() for row in spark.sql(
        f"select * from raw.load_log where {DAY_COLUMN} in ({dates(moved)})").collect()]
    # the load-log rows go first: should a step fail, the days are loaded again next time
    for table in ("raw.load_log", "raw.events", "raw.superseded"):
        spark.sql(f"alter table {table} drop if exists {partitions(moved)}")
    for table, rows in new.items():
        rows.createOrReplaceTempView("cdp_moved")
        spark.sql(f"insert into {table} partition ({DAY_COLUMN}) select * from cdp_moved")
    spark.catalog.dropTempView("cdp_moved")
    for log in logs:
        log["loaded"] = int(loaded.get(log[DAY_COLUMN], 0))
        log["duplicates"] = log["lines"] - log["quarantined"] - log["suppressed"] - log["loaded"]
    insert_load_log(spark, logs)
    return moved


def insert_load_log(spark: SparkSession, rows: list[dict[str, Any]]) -> None:
    """Append raw.load_log rows (values by column; loaded_at is now) to days without one."""
    if not rows:
        return
    columns = [c.name for c in sorted(LOAD_LOG.columns, key=lambda c: c.name == DAY_COLUMN)
               if c.name != "loaded_at"]
    values = ", ".join(
        "(" + ", ".join(_literal(name, row[name]) for name in columns) + ")" for row in rows
    )
    spark.sql(f"""
        insert into raw.load_log partition ({DAY_COLUMN})
        select current_timestamp(), {", ".join(columns)}
        from values {values} as v({", ".join(columns)})
    """)


def _literal(name: str, value: object) -> str:
    if value is None:
        return "null"
    if name == "seconds":
        return f"cast({value} as double)"
    if isinstance(value, dt.date):
        return f"date '{value.isoformat()}'"
    return f"'{value}'" if isinstance(value, str) else str(value)
