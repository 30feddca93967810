{#- Seeds on Spark: read the CSV file with Spark's own CSV reader, so every value loads exactly
    as DuckDB's reader loads it.

    dbt-spark's default (`spark__load_csv_rows`) goes through agate, which turns the text
    `null` into a missing value, and in `session` mode renders every value as `'<value>'`
    without escaping, so a missing value became the text `None` and the value `''` (two
    quotes) became `'`: on Spark the junk identifiers `null` and `''` were not junk. Here the
    rows never pass through Python: a temporary view over the file, nothing read as null
    (`nullValue` is a character no seed holds), then one `insert ... select` with the seed's
    column types. The table itself is still created by dbt-spark (`create_csv_table`). -#}
{% macro spark__load_csv_rows(model, agate_table) %}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set quote_seed_column = model['config'].get('quote_columns', None) -%}
    {%- set path = agate_table.original_abspath | replace("\\", "\\\\") | replace("'", "\\'") -%}
    {%- set view = this.identifier ~ '__csv' -%}
    {%- call statement('cdp_seed_csv_view') -%}
        create or replace temporary view {{ view }}
        using csv
        options (
            path '{{ path }}',
            header 'true',
            inferSchema 'false',
            mode 'FAILFAST',
            quote '"',
            escape '"',
            nullValue '\u0000',
            emptyValue '',
            encoding 'UTF-8'
        )
    {%- endcall -%}
    {%- set sql -%}
        insert into {{ this.render() }}
        select
            {%- for col_name in agate_table.column_names %}
            {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) %}
            cast(`{{ col_name }}` as {{ column_override.get(col_name, inferred_type) }})
                as {{ adapter.quote_seed_column(col_name | string, quote_seed_column) }}
                {{- "," if not loop.last }}
            {%- endfor %}
        from {{ view }}
    {%- endset -%}
    {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
    {{ return(sql) }}
{% endmacro %}
