{#- Read a scalar from a JSON text column as a string (null when absent). -#}
{% macro json_str(column, path) -%}
    {{ return(adapter.dispatch('json_str', 'cdp')(column, path)) }}
{%- endmacro %}

{% macro default__json_str(column, path) -%}
    json_extract_string({{ column }}, '{{ path }}')
{%- endmacro %}

{% macro spark__json_str(column, path) -%}
    get_json_object({{ column }}, '{{ path }}')
{%- endmacro %}

{#- A trimmed string, null when empty. -#}
{% macro json_text(column, path) -%}
    nullif(trim({{ cdp.json_str(column, path) }}), '')
{%- endmacro %}

{#- A JSON sub-document (object or array) kept as JSON text. -#}
{% macro json_doc(column, path) -%}
    {{ return(adapter.dispatch('json_doc', 'cdp')(column, path)) }}
{%- endmacro %}

{% macro default__json_doc(column, path) -%}
    cast(json_extract({{ column }}, '{{ path }}') as varchar)
{%- endmacro %}

{% macro spark__json_doc(column, path) -%}
    get_json_object({{ column }}, '{{ path }}')
{%- endmacro %}

{#- A number, null when absent or not numeric. -#}
{% macro json_number(column, path) -%}
    {{ dbt.safe_cast(cdp.json_str(column, path), dbt.type_numeric()) }}
{%- endmacro %}

{#- A UTC timestamp from an ISO-8601 string, null when absent or unparseable. -#}
{% macro json_timestamp(column, path) -%}
    {{ return(adapter.dispatch('json_timestamp', 'cdp')(column, path)) }}
{%- endmacro %}

{% macro default__json_timestamp(column, path) -%}
    cast(try_cast({{ cdp.json_text(column, path) }} as timestamptz) as timestamp)
{%- endmacro %}

{% macro spark__json_timestamp(column, path) -%}
    to_utc_timestamp(try_cast({{ cdp.json_text(column, path) }} as timestamp), 'UTC')
{%- endmacro %}

{#- true / false / null from a JSON boolean (or "true"/"false" string). -#}
{% macro json_bool(column, path) -%}
    case lower({{ cdp.json_str(column, path) }})
        when 'true' then true
        when 'false' then false
    end
{%- endmacro %}
