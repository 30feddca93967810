{#- The incremental window of int_identity__message_identifiers: the received days loaded since
    its last run (macros/incremental.sql), or every day when the rules that decide its rows have
    changed since the rows were written. Those rules are the junk list (seed junk_identifiers)
    and the analytics consent category: each row carries their fingerprint
    (rules_fingerprint), so a change reprocesses all history on the next run, with no
    --full-refresh needed. -#}

{#- SQL giving the md5 of what decides which identifiers link, besides the data: the consent
    category and the sorted junk list. -#}
{% macro identifier_rules_fingerprint() -%}
    {{ return(adapter.dispatch('identifier_rules_fingerprint', 'cdp')()) }}
{%- endmacro %}

{% macro default__identifier_rules_fingerprint() -%}
    (
        select md5(
            '{{ var("analytics_consent_category") }}|'
            || coalesce(string_agg(lower(identifier_value), chr(10)
                order by lower(identifier_value)), '')
        )
        from {{ ref('junk_identifiers') }}
    )
{%- endmacro %}

{% macro spark__identifier_rules_fingerprint() -%}
    (
        select md5(concat(
            '{{ var("analytics_consent_category") }}|',
            concat_ws(chr(10), array_sort(collect_list(lower(identifier_value))))
        ))
        from {{ ref('junk_identifiers') }}
    )
{%- endmacro %}

{#- True in an incremental run whose stored rows were written under other rules (or by a
    version of the model without the fingerprint): every day is processed again. -#}
{% macro identifier_rules_changed() -%}
    {%- if not execute or not is_incremental() -%}
        {{- return(false) -}}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(this) | map(attribute='name')
        | map('lower') | list -%}
    {%- if 'rules_fingerprint' not in columns or 'received_date' not in columns -%}
        {{- return(true) -}}
    {%- endif -%}
    {%- set compared = run_query(
        "select (select max(rules_fingerprint) from " ~ this ~ ") is distinct from "
        ~ cdp.identifier_rules_fingerprint()
    ).columns[0].values()[0] -%}
    {{- return(compared) -}}
{%- endmacro %}

{#- The filter on received_date: the days loaded since the last run, or all when the rules
    changed. -#}
{% macro identifier_days_to_process(column='received_date') -%}
    {%- if cdp.identifier_rules_changed() -%}
    (1 = 1)
    {%- else -%}
    {{ cdp.days_to_process(column) }}
    {%- endif -%}
{%- endmacro %}

{#- Pre-hook: remove the rows of the days about to be reinserted (all rows when the rules
    changed), so a reloaded day that lost a message loses its rows too. -#}
{% macro delete_identifier_days_to_process() -%}
    {%- if is_incremental() -%}
    delete from {{ this }} where {{ cdp.identifier_days_to_process('received_date') }}
    {%- endif -%}
{%- endmacro %}
