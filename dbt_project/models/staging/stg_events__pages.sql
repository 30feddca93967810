with

source as (

    select events.*, load_stamp.loaded_at
    from {{ source('raw', 'events') }} as events
    {{ cdp.join_load_stamp('events') }}
    where events.type = 'page'
        and {{ cdp.days_to_process('events.received_date') }}

),

renamed as (

    select
        {{ cdp.common_event_columns() }},

        -- page
        {{ cdp.json_text('payload', '$.name') }} as page_name,
        {{ cdp.page_context_columns() }}

    from source

),

with_path as (

    select
        *,
        {{ cdp.normalize_path('page_path_raw', 'page_url') }} as page_path
    from renamed

)

select * from with_path
