{#- A keyed hash (hex) of a value, null for null: sha256(key || value). The key is read from
    the table privacy.pseudonymisation_key at run time, never written into compiled SQL. -#}
{% macro keyed_hash(key, value) -%}
    {{ return(adapter.dispatch('keyed_hash', 'cdp')(key, value)) }}
{%- endmacro %}

{% macro default__keyed_hash(key, value) -%}
    sha256({{ key }} || cast({{ value }} as {{ dbt.type_string() }}))
{%- endmacro %}

{% macro spark__keyed_hash(key, value) -%}
    sha2(concat({{ key }}, cast({{ value }} as string)), 256)
{%- endmacro %}
