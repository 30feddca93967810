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

{#- Session keys with events in the received days this run processes (the days loaded since the
    model last ran, see macros/incremental.sql), read from `events` (a relation with session_key
    and received_date). Incremental sessionization deletes and re-sessionizes the whole history
    of these keys (delete+insert on session_key), so the result equals a full rebuild however
    the data was split into days and runs. -#}
{% macro session_keys_to_reprocess(events) -%}
    select session_key
    from {{ events }}
    where session_key is not null
        and {{ cdp.days_to_process('received_date') }}
{%- endmacro %}

{#- True for rows of int_sessions__sessionized written since this model's last run: its
    `sessionized_at` is newer than the newest `stamp_column` this model holds (every row of a
    session key is rewritten, with the run's time, when the key is re-sessionized). -#}
{% macro sessionized_since_last_run(stamp_column='sessionized_at') -%}
    sessionized_at > (
        select coalesce(max({{ stamp_column }}), cast('1900-01-01 00:00:00' as timestamp))
        from {{ this }}
    )
{%- endmacro %}

{#- The view marts (page_views, screen_views) follow int_sessions__sessionized incrementally
    but keep no build time in their rows, so two builds of the same data hold the same rows.
    How far a view mart has followed it is kept beside the intermediate models (not
    published): `<mart>__followed`, one row, the newest sessionized_at it has taken in. -#}
{% macro followed_relation() -%}
    {{ return(api.Relation.create(
        database=this.database,
        schema=ref('int_sessions__sessionized').schema,
        identifier=this.identifier ~ '__followed',
        type='table')) }}
{%- endmacro %}

{#- True for the rows of int_sessions__sessionized written since the view mart last followed it
    (every row when it has no record yet). -#}
{% macro sessionized_since_followed() -%}
    {%- set target = cdp.followed_relation() -%}
    {%- set followed = adapter.get_relation(
        database=target.database, schema=target.schema, identifier=target.identifier)
        if execute else none -%}
    {%- if followed is none -%}
    (1 = 1)
    {%- else -%}
    sessionized_at > (
        select coalesce(max(followed_through), cast('1900-01-01 00:00:00' as timestamp))
        from {{ followed }}
    )
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of the view marts: record how far they have followed (nothing on Spark, where
    they are tables rebuilt whole). -#}
{% macro record_followed() -%}
    {{ return(adapter.dispatch('record_followed', 'cdp')()) }}
{%- endmacro %}

{% macro default__record_followed() -%}
    create or replace table {{ cdp.followed_relation() }} as
    select max(sessionized_at) as followed_through
    from {{ ref('int_sessions__sessionized') }}
{%- endmacro %}

{% macro spark__record_followed() -%}
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

{#- The start time of this dbt invocation (run_started_at, UTC), the same in every model of one
    run: int_sessions__sessionized stamps the rows it writes with it, and
    int_sessions__aggregated rolls up the session keys stamped since its own newest stamp. -#}
{% macro build_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}
