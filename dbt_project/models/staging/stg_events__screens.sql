with

source as (

    select * from {{ source('raw', 'events') }}
    where type = 'screen'

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
