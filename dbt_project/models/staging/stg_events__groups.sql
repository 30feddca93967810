with

source as (

    select events.*, load_stamp.loaded_at
    from {{ source('raw', 'events') }} as events
    {{ cdp.join_load_stamp('events') }}
    where events.type = 'group'
        and {{ cdp.days_to_process('events.received_date') }}

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
