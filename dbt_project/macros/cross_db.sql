{#- Cross-database helpers: the places where DuckDB and Apache Spark need different SQL for the
    same result. Each is a dispatched macro with the DuckDB form as default__ and the Spark form
    as spark__, so the models stay engine-neutral (README: "Running on Spark"). -#}

{#- dbt-spark's own datediff and dateadd are not exact below a day: they go through
    to_unix_timestamp (whole seconds, so milliseconds are lost), and they raise on a null
    argument (assert_not_null). These overrides (the root project's spark__ macros win over the
    adapter's) count boundaries exactly as DuckDB's date_diff does and keep microseconds. -#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- set units = {
        'microsecond': 1, 'millisecond': 1000, 'second': 1000000,
        'minute': 60000000, 'hour': 3600000000,
    } -%}
    {%- if datepart in units -%}
        {%- if units[datepart] == 1 -%}
    (unix_micros(cast({{ second_date }} as timestamp))
        - unix_micros(cast({{ first_date }} as timestamp)))
        {%- else -%}
    (unix_micros(cast({{ second_date }} as timestamp)) div {{ units[datepart] }}
        - unix_micros(cast({{ first_date }} as timestamp)) div {{ units[datepart] }})
        {%- endif -%}
    {%- elif datepart == 'day' -%}
    datediff(cast({{ second_date }} as date), cast({{ first_date }} as date))
    {%- elif datepart == 'week' -%}
    {#- DuckDB counts ISO-week boundaries (weeks start on Monday) -#}
    cast((datediff(date_trunc('week', cast({{ second_date }} as date)),
                   date_trunc('week', cast({{ first_date }} as date))) / 7) as bigint)
    {%- elif datepart in ('month', 'quarter', 'year') -%}
        {%- set months = {'month': 1, 'quarter': 3, 'year': 12}[datepart] -%}
    cast(((year(cast({{ second_date }} as date)) * 12 + month(cast({{ second_date }} as date)) - 1) div {{ months }})
        - ((year(cast({{ first_date }} as date)) * 12 + month(cast({{ first_date }} as date)) - 1) div {{ months }})
        as bigint)
    {%- else -%}
        {{ exceptions.raise_compiler_error("datediff: datepart " ~ datepart ~ " is not supported on Spark") }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    {%- if datepart in ('microsecond', 'millisecond', 'second', 'minute', 'hour', 'day', 'week',
                        'month', 'quarter', 'year') -%}
    timestampadd({{ datepart | upper }}, {{ interval }}, cast({{ from_date_or_timestamp }} as timestamp))
    {%- else -%}
        {{ exceptions.raise_compiler_error("dateadd: datepart " ~ datepart ~ " is not supported on Spark") }}
    {%- endif -%}
{%- endmacro %}

{#- Incremental models replaced a received day at a time (staging, int_sessions__events_unioned)
    append the days to process after a pre-hook removed them (cdp.delete_days_to_process). Spark
    tables without Delta Lake cannot delete rows, so there they are partitioned by received_date
    (config partition_by=cdp.received_date_partitioning()) and the pre-hook drops the days'
    partitions: the same result, including a reloaded day that no longer has rows. -#}
{% macro received_date_partitioning() -%}
    {{ return(adapter.dispatch('received_date_partitioning', 'cdp')()) }}
{%- endmacro %}

{% macro default__received_date_partitioning() -%}
    {{ return(none) }}
{%- endmacro %}

{% macro spark__received_date_partitioning() -%}
    {{ return(['received_date']) }}
{%- endmacro %}

{% macro spark__delete_days_to_process() -%}
    {%- if is_incremental() -%}
        {%- set days = cdp.days_loaded_since_last_run() -%}
        {%- if days | length > 0 -%}
    alter table {{ this }} drop if exists
            {%- for day in days %}
        partition (received_date = '{{ day }}'){{ "," if not loop.last }}
            {%- endfor %}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#- Models incremental on a key whose whole history is replaced (the sessions: delete+insert on
    session_key, plus a post-hook deleting rows whose source rows are gone). Without row deletes
    (Spark tables without Delta Lake) they are rebuilt whole on every run: a table. -#}
{% macro keyed_incremental_materialization() -%}
    {{ return(adapter.dispatch('keyed_incremental_materialization', 'cdp')()) }}
{%- endmacro %}

{% macro default__keyed_incremental_materialization() -%}
    {{ return('incremental') }}
{%- endmacro %}

{% macro spark__keyed_incremental_materialization() -%}
    {{ return('table') }}
{%- endmacro %}

{#- Post-hook of those models: delete the rows whose `column` value no longer appears in
    `relation` (as its `relation_column`, by default the same name; where `condition` holds).
    Nothing to do where the model is rebuilt whole. -#}
{% macro delete_rows_not_in(column, relation, condition='1 = 1', relation_column=none) -%}
    {{ return(adapter.dispatch('delete_rows_not_in', 'cdp')(
        column, relation, condition, relation_column or column)) }}
{%- endmacro %}

{% macro default__delete_rows_not_in(column, relation, condition, relation_column) -%}
    {%- if is_incremental() -%}
    delete from {{ this }}
    where {{ column }} not in (
        select {{ relation_column }} from {{ relation }}
        where {{ condition }}
    )
    {%- endif -%}
{%- endmacro %}

{% macro spark__delete_rows_not_in(column, relation, condition, relation_column) -%}
{%- endmacro %}

{#- A CTE read several times but cheap to compute (a projection of a table): `not materialized`
    on DuckDB, which otherwise writes such a CTE out once and reads it back per reference
    (stg_events__identifiers at 10 M events: 23 s as materialized, 7 s inlined). Spark inlines
    CTEs by itself and has no such keyword. Use as `name as {{ cdp.inlined() }} (...)`. -#}
{% macro inlined() -%}
    {{ return(adapter.dispatch('inlined', 'cdp')()) }}
{%- endmacro %}

{% macro default__inlined() -%}
not materialized
{%- endmacro %}

{% macro spark__inlined() -%}
{%- endmacro %}
