{#- Survivorship rules for customer traits: the value of the latest (or first) message, by event
    time then message id, among messages where the value is not null. -#}
{% macro latest_non_null(column, order_by, tie_breaker) -%}
    {{ return(adapter.dispatch('latest_non_null', 'cdp')(column, order_by, tie_breaker)) }}
{%- endmacro %}

{% macro default__latest_non_null(column, order_by, tie_breaker) -%}
    arg_max({{ column }}, struct_pack(t := {{ order_by }}, m := {{ tie_breaker }}))
        filter (where {{ column }} is not null)
{%- endmacro %}

{% macro spark__latest_non_null(column, order_by, tie_breaker) -%}
    max_by({{ column }}, case when {{ column }} is not null
        then concat(cast({{ order_by }} as string), '|', {{ tie_breaker }}) end)
{%- endmacro %}

{% macro first_non_null(column, order_by, tie_breaker) -%}
    {{ return(adapter.dispatch('first_non_null', 'cdp')(column, order_by, tie_breaker)) }}
{%- endmacro %}

{% macro default__first_non_null(column, order_by, tie_breaker) -%}
    arg_min({{ column }}, struct_pack(t := {{ order_by }}, m := {{ tie_breaker }}))
        filter (where {{ column }} is not null)
{%- endmacro %}

{% macro spark__first_non_null(column, order_by, tie_breaker) -%}
    min_by({{ column }}, case when {{ column }} is not null
        then concat(cast({{ order_by }} as string), '|', {{ tie_breaker }}) end)
{%- endmacro %}
