{%- set payload = cdp.json_reader('payload') -%}
{%- set columns -%}
        {{ cdp.common_event_columns(payload) }},

        -- page
        {{ cdp.json_text(payload, '$.name') }} as page_name,
        {{ cdp.page_context_columns(payload) }}
{%- endset -%}
with

source as (

    {{ cdp.staging_source('page', payload) }}

),

renamed as (

    select
{{ columns }}

    from source

),

with_path as (

    select
        *,
        {{ cdp.normalize_path('page_path_raw', 'page_url') }} as page_path
    from renamed

)

select * from with_path
