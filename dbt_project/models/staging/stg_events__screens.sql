with

source as (

    select events.*, load_stamp.loaded_at
    from {{ source('raw', 'events') }} as events
    {{ cdp.join_load_stamp('events') }}
    where events.type = 'screen'
        and {{ cdp.days_to_process('events.received_date') }}

),

renamed as (

    select
        {{ cdp.common_event_columns() }},

        -- screen
        {{ cdp.json_text('payload', '$.name') }} as screen_name,
        {{ cdp.json_doc('payload', '$.properties') }} as properties

    from source

)

select * from renamed
