with

source as (

    select events.*, load_stamp.loaded_at
    from {{ source('raw', 'events') }} as events
    {{ cdp.join_load_stamp('events') }}
    where events.type = 'alias'
        and {{ cdp.days_to_process('events.received_date') }}

),

renamed as (

    select
        {{ cdp.common_event_columns() }},

        -- the identifier being merged into user_id
        {{ cdp.clean_identifier(cdp.json_str('payload', '$.previousId')) }} as previous_id

    from source

)

select * from renamed
