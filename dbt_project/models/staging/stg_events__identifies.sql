with

source as (

    select events.*, load_stamp.loaded_at
    from {{ source('raw', 'events') }} as events
    {{ cdp.join_load_stamp('events') }}
    where events.type = 'identify'
        and {{ cdp.days_to_process('events.received_date') }}

),

renamed as (

    select
        {{ cdp.common_event_columns() }},

        -- identity
        {{ cdp.normalize_email(
            "coalesce(" ~ cdp.json_text('payload', '$.traits.email') ~ ", "
            ~ cdp.json_text('payload', '$.context.traits.email') ~ ")") }} as email,
        {{ cdp.normalize_phone(
            "coalesce(" ~ cdp.json_text('payload', '$.traits.phone') ~ ", "
            ~ cdp.json_text('payload', '$.context.traits.phone') ~ ")") }} as phone,

        -- traits (strings, as sent)
        {{ cdp.json_text('payload', '$.traits.name') }} as name,
        {{ cdp.json_text('payload', '$.traits.first_name') }} as first_name,
        {{ cdp.json_text('payload', '$.traits.last_name') }} as last_name,
        {{ cdp.json_text('payload', '$.traits.plan') }} as plan,
        {{ cdp.json_text('payload', '$.traits.company.name') }} as company_name,
        {{ cdp.json_timestamp('payload', '$.traits.created_at') }} as account_created_at,
        {{ cdp.json_doc('payload', '$.traits') }} as traits

    from source

)

select * from renamed
