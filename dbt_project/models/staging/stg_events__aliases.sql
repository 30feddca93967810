with

source as (

    select * from {{ source('raw', 'events') }}
    where type = 'alias'

),

renamed as (

    select
        {{ cdp.common_event_columns() }},

        -- the identifier being merged into user_id
        {{ cdp.clean_identifier(cdp.json_str('payload', '$.previousId')) }} as previous_id

    from source

)

select * from renamed
