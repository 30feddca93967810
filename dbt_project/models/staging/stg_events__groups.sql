{%- set payload = cdp.json_reader('payload') -%}
{%- set columns -%}
        {{ cdp.common_event_columns(payload) }},

        -- group
        {{ cdp.clean_identifier(cdp.json_str(payload, '$.groupId')) }} as group_id,
        {{ cdp.json_text(payload, '$.traits.name') }} as group_name,
        {{ cdp.json_text(payload, '$.traits.industry') }} as group_industry,
        {{ cdp.json_doc(payload, '$.traits') }} as group_traits
{%- endset -%}
with

source as (

    {{ cdp.staging_source('group', payload) }}

),

renamed as (

    select
{{ columns }}

    from source

)

select * from renamed
