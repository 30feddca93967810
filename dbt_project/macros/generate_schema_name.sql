{#- Schemas are named exactly raw / staging / intermediate / marts (no target prefix), so one
    query works on the warehouse and on the published copy. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
