{%- set payload = cdp.json_reader('payload') -%}
{%- set columns -%}
        {{ cdp.common_event_columns(payload) }},

        -- screen
        {{ cdp.json_text(payload, '$.name') }} as screen_name,
        {{ cdp.json_doc(payload, '$.properties') }} as properties
{%- endset -%}
with

source as (

    {{ cdp.staging_source('screen', payload) }}

),

renamed as (

    select
{{ columns }}

    from source

)

select * from renamed
