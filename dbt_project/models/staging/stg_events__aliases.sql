{%- set payload = cdp.json_reader('payload') -%}
{%- set columns -%}
        {{ cdp.common_event_columns(payload) }},

        -- the identifier being merged into user_id
        {{ cdp.clean_identifier(cdp.json_str(payload, '$.previousId')) }} as previous_id
{%- endset -%}
with

source as (

    {{ cdp.staging_source('alias', payload) }}

),

renamed as (

    select
{{ columns }}

    from source

)

select * from renamed
