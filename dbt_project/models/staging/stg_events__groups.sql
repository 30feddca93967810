with

source as (

    select * from {{ source('raw', 'events') }}
    where type = 'group'

),

renamed as (

    select
        {{ cdp.common_event_columns() }},

        -- group
        {{ cdp.clean_identifier(cdp.json_str('payload', '$.groupId')) }} as group_id,
        {{ cdp.json_text('payload', '$.traits.name') }} as group_name,
        {{ cdp.json_text('payload', '$.traits.industry') }} as group_industry,
        {{ cdp.json_doc('payload', '$.traits') }} as group_traits

    from source

)

select * from renamed
