{#- Helpers for sessions, page views and page metrics. Engine-specific SQL stays in small
    dispatched macros so an engine switch touches this file only. -#}

{#- A double-precision float (dbt.type_float() is a 4-byte float on DuckDB). -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'cdp')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}

{% macro postgres__type_double() -%}
    double precision
{%- endmacro %}

{#- Seconds from one timestamp to a later one, with millisecond precision. -#}
{% macro seconds_between(start_at, end_at) -%}
    cast({{ dbt.datediff(start_at, end_at, 'millisecond') }} as {{ cdp.type_double() }}) / 1000
{%- endmacro %}

{#- numerator / denominator as a double; null when the denominator is 0 or null. -#}
{% macro safe_divide(numerator, denominator) -%}
    cast({{ numerator }} as {{ cdp.type_double() }}) / nullif({{ denominator }}, 0)
{%- endmacro %}

{#- The key a visitor's events are sessionized under: the anonymous id, else the user id.
    Prefixed with the identifier type so an anonymous id and a user id with the same text never
    share sessions. -#}
{% macro session_key(anonymous_id, user_id) -%}
    case
        when {{ anonymous_id }} is not null
            then {{ dbt.concat(["'anonymous_id:'", anonymous_id]) }}
        when {{ user_id }} is not null
            then {{ dbt.concat(["'user_id:'", user_id]) }}
    end
{%- endmacro %}

{#- First and last received day of the window an incremental run reprocesses:
    [var min_date - var session_lookback_days, var max_date] (Dagster passes the partition). -#}
{% macro sessions_window_start() -%}
    cast({{ dbt.dateadd('day', -1 * var('session_lookback_days') | int,
        "cast('" ~ var('min_date') ~ "' as date)") }} as date)
{%- endmacro %}

{% macro sessions_window_end() -%}
    cast('{{ var("max_date") }}' as date)
{%- endmacro %}

{#- Received days an incremental run (re)processes: the window above, plus any day newer than
    what the model already holds (so a run never leaves loaded data behind). Outside an
    incremental run: every day. The watermark is the received day, never the event time, so a
    device clock in the future cannot hold back later loads. -#}
{% macro sessions_received_window(column='received_date', target_column='received_date') -%}
    {%- if is_incremental() -%}
    {#- the newest day held, read once and inlined as a constant so the filter reaches the raw
        table scan below the staging views -#}
    {%- set newest_held = namespace(day='1900-01-01') -%}
    {%- if execute -%}
        {%- set held = run_query(
            'select cast(max(' ~ target_column ~ ') as ' ~ dbt.type_string() ~ ') from ' ~ this) -%}
        {%- if held.rows and held.rows[0][0] is not none -%}
            {%- set newest_held.day = held.rows[0][0] -%}
        {%- endif -%}
    {%- endif -%}
    (
        {{ column }} between {{ cdp.sessions_window_start() }} and {{ cdp.sessions_window_end() }}
        or {{ column }} > cast('{{ newest_held.day }}' as date)
    )
    {%- else -%}
    (1 = 1)
    {%- endif -%}
{%- endmacro %}

{#- Session keys with events in the received days this run processes, read from `events` (a
    relation with session_key and received_date). Incremental sessionization deletes and
    re-sessionizes the whole history of these keys (delete+insert on session_key), so the result
    equals a full rebuild however the data was split into days. -#}
{% macro session_keys_to_reprocess(events, target_column='received_date') -%}
    select session_key
    from {{ events }}
    where session_key is not null
        and {{ cdp.sessions_received_window('received_date', target_column) }}
{%- endmacro %}

{#- Host and path of a URL (lower-case host without "www.", no query or fragment), to match
    referrer-mapping entries such as "google.com/imgres" or "orange.fr/webmail". -#}
{% macro url_host_and_path(url) -%}
    {{ dbt.concat([
        "coalesce(" ~ cdp.url_host(url) ~ ", '')",
        "coalesce(regexp_extract(" ~ url ~ ", '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*(/[^?#]*)', 1), '')",
    ]) }}
{%- endmacro %}

{#- Generic test: every row satisfies a SQL condition (rows where it is false or null fail).
    Used for the column rules of the sessions, page views and page metrics marts. -#}
{% test rows_satisfy(model, expression, column_name=none) %}
select *
from {{ model }}
where not coalesce(({{ expression }}), false)
{% endtest %}
