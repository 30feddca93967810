{#- Read a scalar from a JSON text column as a string (null when absent).

    `column` is a column name, or a reader made by cdp.json_reader() over raw.events' payload:
    then a field the loader parsed into its own column (cdp.loaded_message_fields) is that
    column, a field inside a loaded sub-document is read from that small document, and any
    other path is registered on the reader and read from the list cdp.json_reader_fields()
    extracts with one parse per row. -#}
{% macro json_str(column, path) -%}
    {%- if column is mapping -%}
        {%- set loaded = cdp.loaded_field(column, path, 'text') -%}
        {%- if loaded is not none -%}
            {{ return(loaded) }}
        {%- endif -%}
        {{ return(adapter.dispatch('json_reader_value', 'cdp')(column, 'strings', path)) }}
    {%- endif -%}
    {{ return(adapter.dispatch('json_str', 'cdp')(column, path)) }}
{%- endmacro %}

{#- A reader of many paths of one JSON text column. Render every expression that reads it first
    (e.g. into a `{% set %}` block), then cdp.json_reader_fields(reader) in the select list of
    the CTE holding the column, so the registered paths are known when the fields are written. -#}
{% macro json_reader(column) -%}
    {{ return({'column': column, 'name': column | replace('.', '_'), 'strings': [], 'docs': [],
               'loaded': cdp.loaded_message_fields() if column == 'payload' else {}}) }}
{%- endmacro %}

{#- The message fields the loader parsed into raw.events columns: JSON path -> {column, kind},
    read from the raw source's YAML (column meta json_path / json_kind), which mirrors
    orchestration/ingest/contract.py's MESSAGE_COLUMNS (tests/unit/ingest checks the two agree).
    Empty while dbt parses: no SQL runs then. -#}
{% macro loaded_message_fields() -%}
    {%- set fields = {} -%}
    {%- if execute -%}
        {%- for source in graph.sources.values()
                if source.source_name == 'raw' and source.name == 'events' -%}
            {%- for column in source.columns.values() -%}
                {%- set meta = column.config.meta if column.config is defined and column.config.meta else column.meta -%}
                {%- if meta and meta.get('json_path') -%}
                    {%- do fields.update({meta['json_path']: {
                        'column': column.name, 'kind': meta.get('json_kind', 'text')}}) -%}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(fields) }}
{%- endmacro %}

{#- `path` read through the reader's loaded columns, as `kind` (text, time or doc): the column
    itself, or a text read from the loaded sub-document that holds the path; none when the
    loader did not parse it. -#}
{% macro loaded_field(reader, path, kind) -%}
    {%- set field = reader.loaded.get(path) -%}
    {%- if field is not none -%}
        {{ return(field.column if field.kind == kind else none) }}
    {%- endif -%}
    {%- if kind == 'text' -%}
        {%- for doc_path, doc in reader.loaded.items()
                if doc.kind == 'doc' and path.startswith(doc_path ~ '.') -%}
            {{ return(adapter.dispatch('json_str', 'cdp')(doc.column, '$' ~ path[doc_path | length:])) }}
        {%- endfor -%}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{#- ", <the reader's extracted lists>" for a select list (nothing where paths are read one by
    one). -#}
{% macro json_reader_fields(reader) -%}
    {{ return(adapter.dispatch('json_reader_fields', 'cdp')(reader)) }}
{%- endmacro %}

{% macro default__json_reader_fields(reader) -%}
    {%- if reader.strings -%}
        , json_extract_string({{ reader.column }}, [
        {%- for path in reader.strings %}'{{ path }}'{{ ", " if not loop.last }}{% endfor -%}
        ]) as {{ reader.name }}__strings
    {%- endif -%}
    {%- if reader.docs -%}
        , cast(json_extract({{ reader.column }}, [
        {%- for path in reader.docs %}'{{ path }}'{{ ", " if not loop.last }}{% endfor -%}
        ]) as varchar[]) as {{ reader.name }}__docs
    {%- endif -%}
{%- endmacro %}

{% macro spark__json_reader_fields(reader) -%}
{%- endmacro %}

{#- The value of `path` through a reader: registers the path, returns the list element. -#}
{% macro default__json_reader_value(reader, kind, path) -%}
    {%- if path not in reader[kind] -%}
        {%- do reader[kind].append(path) -%}
    {%- endif -%}
    {{ reader.name }}__{{ kind }}[{{ reader[kind].index(path) + 1 }}]
{%- endmacro %}

{#- Spark reads each path with get_json_object, as without a reader. -#}
{% macro spark__json_reader_value(reader, kind, path) -%}
    get_json_object({{ reader.column }}, '{{ path }}')
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
    {%- if column is mapping -%}
        {%- set loaded = cdp.loaded_field(column, path, 'doc') -%}
        {%- if loaded is not none -%}
            {{ return(loaded) }}
        {%- endif -%}
        {{ return(adapter.dispatch('json_reader_value', 'cdp')(column, 'docs', path)) }}
    {%- endif -%}
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
    {%- if column is mapping -%}
        {%- set loaded = cdp.loaded_field(column, path, 'time') -%}
        {%- if loaded is not none -%}
            {{ return(loaded) }}
        {%- endif -%}
    {%- endif -%}
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
