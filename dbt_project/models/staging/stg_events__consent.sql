{#- Consent statements: one row per message (any type) that carries
    context.consent.categoryPreferences. The preferences stay a small JSON document, so any
    category (audiences read the ones their definitions require) is read without parsing the
    whole payload again. -#}
with

source as (

    select events.*, load_stamp.loaded_at
    from {{ source('raw', 'events') }} as events
    {{ cdp.join_load_stamp('events') }}
    where {{ cdp.days_to_process('events.received_date') }}

),

preferences as (

    select
        -- ids
        message_id,
        type as message_type,
        -- consent, as sent
        {{ cdp.json_doc('payload', '$.context.consent.categoryPreferences') }}
            as consent_preferences,
        -- timestamps
        event_at,
        {{ cdp.json_timestamp('payload', '$.receivedAt') }} as received_at,
        received_date,
        loaded_at
    from source

)

select
    message_id,
    message_type,
    consent_preferences,
    event_at,
    received_at,
    received_date,
    loaded_at
from preferences
where consent_preferences is not null
