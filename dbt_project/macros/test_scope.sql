{#- Tests follow the change. A nightly build tests the rows of the received days it loaded, not
    all history again: the orchestration names those days in the environment variable
    CDP_TEST_DAYS (comma-separated 'YYYY-MM-DD'; orchestration/settings.py `scope_dbt_tests`),
    and every generic test on a model or source with a `received_date` column then reads only
    those days' rows, as do the singular tests that filter with `cdp.tested_rows()`. Tests on
    the other models (the marts and roll-ups, rebuilt whole), the other singular tests, and the
    tests tagged `whole_table` (the grain of raw.events, which keeps
    every later day's rows unique) test everything. Unset (a full refresh, `cdp build
    --full-tests`, the weekly full-test job, a plain `dbt build`): every test reads every row.

    The variable is read when a test runs, not when the project is parsed, so a different set
    of days keeps dbt's partial parsing valid (a `--vars` value would re-parse the project).
    dbt calls get_where_subquery for the model of every generic test; this root-project macro
    replaces its own (which applies the test's `where` config: still applied here). -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- set days = cdp.test_days() -%}
    {%- set filters = [] -%}
    {%- if where -%}
        {%- do filters.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- if days and 'whole_table' not in (config.get('tags') or [])
            and cdp.has_column(relation, 'received_date') -%}
        {%- do filters.append(cdp.tested_rows()) -%}
    {%- endif -%}
    {%- if filters -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ filters | join(' and ')
            ~ ') dbt_subquery') -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}

{#- A singular test's filter on its rows' received day: the scoped days, else every row. The
    singular tests whose rows have received days use it (identity convergence, every usable
    event sessionized); the others compare whole marts. -#}
{% macro tested_rows(column='received_date') -%}
    {%- set days = cdp.test_days() -%}
    {%- if days -%}
    {{ cdp.date_in(column, days) }}
    {%- else -%}
    (1 = 1)
    {%- endif -%}
{%- endmacro %}

{#- The received days the tests of this invocation are scoped to; [] means every row. -#}
{% macro test_days() -%}
    {%- if not execute -%}
        {%- do return([]) -%}
    {%- endif -%}
    {%- set days = [] -%}
    {%- for day in env_var('CDP_TEST_DAYS', '').split(',') -%}
        {%- if modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', day.strip()) -%}
            {%- do days.append(day.strip()) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return(days) -%}
{%- endmacro %}

{#- Whether the model or source `relation` (one the running test depends on) documents the
    column `name` in its YAML, where every column of this project is described: read from dbt's
    graph, so deciding costs no query. -#}
{% macro has_column(relation, name) -%}
    {%- for unique_id in model.depends_on.nodes -%}
        {%- set node = graph.nodes.get(unique_id) or graph.sources.get(unique_id) -%}
        {%- if node and (node.alias or node.identifier or node.name) == relation.identifier
                and node.schema == relation.schema and name in node.columns -%}
            {%- do return(true) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return(false) -%}
{%- endmacro %}

{#- `column in (date 'd1', ...)`: constants, so DuckDB's zone maps skip the other days. -#}
{% macro date_in(column, days) -%}
    {{ column }} in (
        {%- for day in days %}cast('{{ day }}' as date){{ ", " if not loop.last }}{% endfor -%}
    )
{%- endmacro %}
