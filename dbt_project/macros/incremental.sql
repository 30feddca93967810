{#- What an incremental run processes: the received days loaded (or reloaded) since the model last
    ran. raw.load_log stamps every day with the time it was loaded; each incremental model keeps
    the `loaded_at` of the rows it holds, so "new for this model" is every day whose stamp is
    newer than the newest one the model holds. Nothing is passed on the command line (Dagster's
    partition range travels through the load itself), so dbt's partial parsing stays valid from
    one run to the next, and a model that missed a run (a failure, a partial selection) catches
    up on every day it has not seen.

    The list of days is read once when the model compiles and inlined as constants, so the
    filter prunes the raw scan (DuckDB zone maps) instead of joining at run time. -#}

{#- The received days loaded since this model's newest `loaded_at` (strings 'YYYY-MM-DD'). -#}
{% macro days_loaded_since_last_run() -%}
    {#- referenced unconditionally so dbt records the dependency when it parses the model -#}
    {%- set load_log = source('raw', 'load_log') -%}
    {%- if not execute or not is_incremental() -%}
        {{- return([]) -}}
    {%- endif -%}
    {%- set sql -%}
        select distinct cast(received_date as {{ dbt.type_string() }}) as received_day
        from {{ load_log }}
        where loaded_at > (
            select coalesce(max(loaded_at), cast('1900-01-01 00:00:00' as timestamp))
            from {{ this }}
        )
        order by received_day
    {%- endset -%}
    {{- return(run_query(sql).columns[0].values() | list) -}}
{%- endmacro %}

{#- A filter on a received-day column: the days above in an incremental run, else everything. -#}
{% macro days_to_process(column='received_date') -%}
    {%- set days = cdp.days_loaded_since_last_run() -%}
    {%- if is_incremental() -%}
        {%- if days | length == 0 -%}
    (1 = 0)
        {%- else -%}
    {{ cdp.date_in(column, days) }}
        {%- endif -%}
    {%- else -%}
    (1 = 1)
    {%- endif -%}
{%- endmacro %}

{#- True for a row spanning [first_column, last_column] that overlaps a day to process. -#}
{% macro overlaps_days_to_process(first_column, last_column) -%}
    {%- set days = cdp.days_loaded_since_last_run() -%}
    {%- if not is_incremental() -%}
    (1 = 1)
    {%- elif days | length == 0 -%}
    (1 = 0)
    {%- else -%}
    (
        {%- for day in days %}
        ({{ first_column }} <= cast('{{ day }}' as date)
            and {{ last_column }} >= cast('{{ day }}' as date)){{ " or" if not loop.last }}
        {%- endfor %}
    )
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook of the models replaced a received day at a time (staging, events_unioned): remove the
    days about to be reinserted. Unlike delete+insert keyed on the new rows, this also empties a
    reloaded day that no longer has any row for the model (e.g. its only alias was a duplicate). -#}
{% macro delete_days_to_process() -%}
    {{ return(adapter.dispatch('delete_days_to_process', 'cdp')()) }}
{%- endmacro %}

{% macro default__delete_days_to_process() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where {{ cdp.days_to_process('received_date') }}
    {%- endif -%}
{%- endmacro %}

{#- The load stamp of a received day, joined onto rows that carry received_date. -#}
{% macro join_load_stamp(relation_alias, column='received_date') -%}
    left join {{ source('raw', 'load_log') }} as load_stamp
        on load_stamp.received_date = {{ relation_alias }}.{{ column }}
{%- endmacro %}
