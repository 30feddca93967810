"""The raw-load contract: what every engine's loader must produce, written once.

A loader reads a day folder of Segment-spec JSON-lines dumps and puts every input line in
exactly one place:

* `raw.events`      one row per distinct `messageId`: of its copies, the one with the earliest
                    `receivedAt` wins (ties: the smallest file name, then line), whatever order
                    the days are loaded in,
* a duplicate       counted in `raw.load_log.duplicates`; a day's best copy that loses to a
                    copy of another day is kept in `raw.superseded`, so that it wins again if
                    that day is reloaded without it,
* suppressed        counted in `raw.load_log.suppressed`, never stored (identifiers erased by
                    `cdp forget`; DuckDB only),
* `raw.quarantine`  with the file, line number, a readable reason and the raw text.

This module holds the parts both engines (`duckdb_loader`, `spark_loader`) share: the message
types and dump suffixes, the quarantine reasons, the raw tables' columns (each engine renders
its own DDL from them), the classification query (the ordered CASE of reasons) parameterised
by each engine's spelling of a few SQL expressions (`Dialect`), the line-accounting query and
`LoadReport`. An engine adds only how it reads files into lines and how it writes a day.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

MESSAGE_TYPES = ("identify", "track", "page", "screen", "alias", "group")
DUMP_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".ndjson", ".ndjson.gz")
MAX_LINE_BYTES = 64 * 1024 * 1024
QUARANTINE_RAW_LINE_CHARS = 1_000_000

# Quarantine reasons, in the order they are tested. Kept as constants so tests, docs
# and the asset metadata use the same words.
REASON_UNREADABLE_FILE = "unreadable file"
REASON_TRUNCATED_GZIP = "truncated gzip"
REASON_INVALID_ENCODING = "invalid UTF-8"
REASON_LINE_TOO_LONG = "line too long"
REASON_BLANK = "blank line"
REASON_INVALID_JSON = "invalid JSON"
REASON_NOT_OBJECT = "not an object"
REASON_MISSING_TYPE = "missing type"
REASON_UNKNOWN_TYPE = "unknown type"
REASON_MISSING_MESSAGE_ID = "missing messageId"
REASON_MISSING_EVENT_NAME = "track without event name"
REASON_NO_TIME = "no usable time"

# A physical line the reader could not hand over as text, in the order tested: a line both
# too long and not UTF-8 is counted once, as invalid UTF-8.
READ_REASONS = (REASON_INVALID_ENCODING, REASON_LINE_TOO_LONG)


# --- the raw tables ------------------------------------------------------------------------

DAY_COLUMN = "received_date"


@dataclass(frozen=True)
class Column:
    """One column of a raw table, in logical terms each engine maps to its own types."""

    name: str
    type: str  # text | int | bigint | double | date | timestamp
    nullable: bool = False
    default: str | None = None  # SQL literal
    long_text: bool = False  # payloads up to MAX_LINE_BYTES: worth a heavier compression
    added_later: bool = False  # missing from tables created by older versions


@dataclass(frozen=True)
class RawTable:
    """A raw table. Every one holds days (DAY_COLUMN): Spark partitions by it, and a table
    with one row per day (raw.load_log) has it as DuckDB's primary key."""

    name: str
    columns: tuple[Column, ...]
    one_row_per_day: bool = False


@dataclass(frozen=True)
class MessageField:
    """A field of the message parsed once, at load, into a column of raw.events, so that no
    model parses the payload again. `text` keeps the JSON value as the JSON reader returns it
    (strings unquoted, untrimmed: cleaning is the models' job), `time` is a UTC timestamp (null
    when unusable), `doc` the JSON text of a sub-document."""

    path: str
    kind: str = "text"  # text | time | doc

    @property
    def column(self) -> str:
        """The column: the path in snake case (`$.context.page.url` -> `context_page_url`)."""
        words = self.path.removeprefix("$.").replace(".", "_")
        return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", words).lower()


# Every message field a model reads (staging reads these columns, never the payload). Adding one
# here adds the column to raw.events and fills it from the payload of the rows already loaded
# (see the loaders' ensure_raw_schema); document it in dbt_project's raw source YAML.
MESSAGE_COLUMNS = tuple(MessageField(path, kind) for path, kind in (
    # ids
    ("$.anonymousId", "text"), ("$.userId", "text"), ("$.previousId", "text"),
    ("$.groupId", "text"),
    # what happened
    ("$.event", "text"), ("$.name", "text"), ("$.receivedAt", "time"),
    ("$.properties", "doc"), ("$.traits", "doc"),
    # context
    ("$.context.sessionId", "text"), ("$.context.ip", "text"), ("$.context.userAgent", "text"),
    ("$.context.locale", "text"), ("$.context.library.name", "text"),
    ("$.context.consent.categoryPreferences", "doc"),
    ("$.context.traits.email", "text"), ("$.context.traits.phone", "text"),
    # web page and campaign
    ("$.context.page.url", "text"), ("$.context.page.path", "text"),
    ("$.context.page.title", "text"), ("$.context.page.referrer", "text"),
    ("$.context.page.search", "text"),
    ("$.properties.path", "text"), ("$.properties.title", "text"),
    ("$.properties.referrer", "text"), ("$.properties.name", "text"),
    ("$.context.campaign.source", "text"), ("$.context.campaign.medium", "text"),
    ("$.context.campaign.name", "text"), ("$.context.campaign.term", "text"),
    ("$.context.campaign.content", "text"),
    # mobile app, device, os and network
    ("$.context.app.name", "text"), ("$.context.app.version", "text"),
    ("$.context.app.build", "text"),
    ("$.context.device.type", "text"), ("$.context.device.model", "text"),
    ("$.context.device.manufacturer", "text"),
    ("$.context.os.name", "text"), ("$.context.os.version", "text"),
    ("$.context.network.wifi", "text"), ("$.context.network.cellular", "text"),
    ("$.context.network.carrier", "text"),
    # orders
    ("$.properties.order_id", "text"), ("$.properties.revenue", "text"),
    ("$.properties.total", "text"), ("$.properties.currency", "text"),
    # traits
    ("$.traits.email", "text"), ("$.traits.phone", "text"), ("$.traits.name", "text"),
    ("$.traits.first_name", "text"), ("$.traits.last_name", "text"),
    ("$.traits.plan", "text"), ("$.traits.industry", "text"),
    ("$.traits.company.name", "text"), ("$.traits.created_at", "time"),
))
_COLUMN_TYPES = {"text": "text", "time": "timestamp", "doc": "text"}

EVENTS = RawTable("raw.events", (
    Column("message_id", "text"),
    Column("type", "text"),
    Column("event_at", "timestamp"),
    Column(DAY_COLUMN, "date"),
    Column("source_file", "text"),
    Column("line_number", "bigint"),
    Column("payload", "text", long_text=True),
    *(Column(f.column, _COLUMN_TYPES[f.kind], nullable=True, added_later=True)
      for f in MESSAGE_COLUMNS),
))
# Which copy of a message wins (an ORDER BY over raw.events' columns): the earliest receivedAt,
# then the smallest file name and line. A copy without receivedAt comes last.
COPY_ORDER = "received_at asc nulls last, source_file asc, line_number asc"

# A day's best copy of a message whose copy on another day won (same columns as raw.events).
SUPERSEDED = RawTable("raw.superseded", EVENTS.columns)
QUARANTINE = RawTable("raw.quarantine", (
    Column("source_file", "text"),
    Column("line_number", "bigint", nullable=True),
    Column(DAY_COLUMN, "date"),
    Column("reason", "text"),
    Column("raw_line", "text", nullable=True, long_text=True),
))
LOAD_LOG = RawTable("raw.load_log", (
    Column(DAY_COLUMN, "date"),
    Column("loaded_at", "timestamp"),
    Column("files", "int"),
    Column("empty_files", "int"),
    Column("lines", "bigint"),
    Column("loaded", "bigint"),
    Column("duplicates", "bigint"),
    Column("quarantined", "bigint"),
    Column("unreadable_files", "int"),
    Column("seconds", "double"),
    Column("suppressed", "bigint", default="0", added_later=True),
    Column("fingerprint", "text", nullable=True, added_later=True),
), one_row_per_day=True)
RAW_TABLES = (EVENTS, SUPERSEDED, QUARANTINE, LOAD_LOG)


# --- classification ------------------------------------------------------------------------

# The message fields a loader reads: (column, JSON path, how the text is typed).
MESSAGE_FIELDS = (
    ("type", "$.type", "lower"),
    ("message_id", "$.messageId", "text"),
    ("event_name", "$.event", "text"),
    ("ts", "$.timestamp", "time"),
    ("original_ts", "$.originalTimestamp", "time"),
    ("sent_at", "$.sentAt", "time"),
    ("received_at", "$.receivedAt", "time"),
)


@dataclass(frozen=True)
class Dialect:
    """How one engine spells the expressions the classification query needs.

    Each builder takes SQL expressions and returns one. The staged lines are relation
    `cdp_lines` (source_file, line_number, line, stage_reason; and received_date where one
    query classifies several days).
    """

    read_reason: str  # over stage_reason and line: why the line is not text to parse, or null
    is_json: Callable[[str], str]  # the text is exactly one valid JSON value
    is_object: Callable[[str], str]  # a valid JSON text is an object
    is_blank: Callable[[str], str]  # null or only JSON whitespace
    # select-list item(s) holding the JSON paths' string values, null unless is_object
    extract: Callable[[str, Sequence[str]], str]
    field: Callable[[int], str]  # the i-th extracted value (0-based)
    # the same for sub-documents kept as JSON text (MESSAGE_COLUMNS of kind doc)
    extract_docs: Callable[[str, Sequence[str]], str]
    doc_field: Callable[[int], str]
    to_utc: Callable[[str], str]  # ISO text -> UTC timestamp, null when unusable
    # original_ts + (received_at - sent_at), the clock-skew correction of the Segment spec
    skew_corrected: Callable[[str, str, str], str]


def reason_branches(conditions: Mapping[str, str], reasons: Sequence[str]) -> str:
    """`when <condition> then '<reason>'` for the given reasons, in their order."""
    return "\n".join(f"when {conditions[r]} then '{r}'" for r in reasons)


def message_reason_cases() -> str:
    """The CASE branches that judge a JSON object as a message, over columns type,
    message_id, event_name, ts, original_ts and received_at."""
    types = ", ".join(f"'{t}'" for t in MESSAGE_TYPES)
    return f"""when type is null or type = '' then '{REASON_MISSING_TYPE}'
            when type not in ({types}) then '{REASON_UNKNOWN_TYPE}'
            when message_id is null then '{REASON_MISSING_MESSAGE_ID}'
            when type = 'track' and event_name is null then '{REASON_MISSING_EVENT_NAME}'
            when coalesce(ts, original_ts, received_at) is null then '{REASON_NO_TIME}'"""


def _typed(dialect: Dialect, index: int, kind: str) -> str:
    value = dialect.field(index)
    if kind == "lower":
        return f"lower(trim({value}))"
    if kind == "text":
        return f"nullif(trim({value}), '')"
    return dialect.to_utc(value)


def message_columns_sql(
    dialect: Dialect, relation: str, text: str, keep: str,
    fields: Sequence[MessageField] = MESSAGE_COLUMNS,
) -> str:
    """`select <keep>, <fields>` over `relation`, whose JSON object text `text` is parsed once
    for every text and time field (and once for the sub-documents): how a loader writes a
    message's columns, and how columns added later are filled from the payload."""
    texts = [f.path for f in fields if f.kind != "doc"]
    docs = [f.path for f in fields if f.kind == "doc"]
    items = []
    for f in fields:
        if f.kind == "doc":
            items.append(f"{dialect.doc_field(docs.index(f.path))} as {f.column}")
        else:
            value = dialect.field(texts.index(f.path))
            items.append(f"{dialect.to_utc(value) if f.kind == 'time' else value} as {f.column}")
    extracted = ", ".join(
        builder(text, paths)
        for builder, paths in ((dialect.extract, texts), (dialect.extract_docs, docs))
        if paths
    )
    return f"""
        select {keep}, {", ".join(items)}
        from (select *, true as is_object, {extracted} from {relation}) as parsed
    """


def classification_sql(dialect: Dialect, received_date: dt.date | None) -> str:
    """Every staged line with its message fields, event time and quarantine reason (null for
    a message to load): source_file, line_number, line, message_id, type, event_at,
    received_at, reason, received_date (the given day, or with None each line's own from
    `cdp_lines`). The loader parses the MESSAGE_COLUMNS of the lines it writes afterwards
    (`message_columns_sql`): quarantined lines and duplicates never are.

    The costly tests run only where they can change the answer: JSON validity on lines that
    were read, the blank test on lines that are not JSON (a blank line never is), one parse
    for all fields of an object.
    """
    paths = [path for _, path, _ in MESSAGE_FIELDS]
    typed = ",\n            ".join(
        f"{_typed(dialect, i, kind)} as {name}" for i, (name, _, kind) in enumerate(MESSAGE_FIELDS)
    )
    skew = dialect.skew_corrected("original_ts", "sent_at", "received_at")
    day = f"date '{received_date.isoformat()}'" if received_date else DAY_COLUMN
    return f"""
    with checked as (
        select source_file, line_number, line, {dialect.read_reason} as read_reason,
            {day} as received_date
        from cdp_lines
    ),
    judged as (
        select *,
            case when read_reason is null and line is not null then {dialect.is_json("line")} end
                as is_json
        from checked
    ),
    kinds as (
        select *, case when is_json then {dialect.is_object("line")} end as is_object
        from judged
    ),
    extracted as (
        select *, {dialect.extract("line", paths)}
        from kinds
    ),
    typed as (
        select
            source_file, line_number, line, read_reason, is_json, is_object, received_date,
            {typed}
        from extracted
    )
    select
        source_file, line_number, line, message_id, type,
        coalesce(ts, {skew}, received_at) as event_at, received_at,
        case
            when read_reason is not null then read_reason
            when not coalesce(is_json, false) then
                case when {dialect.is_blank("line")} then '{REASON_BLANK}'
                     else '{REASON_INVALID_JSON}' end
            when not is_object then '{REASON_NOT_OBJECT}'
            {message_reason_cases()}
        end as reason,
        received_date
    from typed
    """
