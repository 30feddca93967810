{#- Consent statements: one row per message (any type) that carries
    context.consent.categoryPreferences. The preferences stay a small JSON document, so any
    category (audiences read the ones their definitions require) is read without parsing the
    whole payload again. -#}
{%- set payload = cdp.json_reader('payload') -%}
{%- set consent_columns -%}
        {{ cdp.json_doc(payload, '$.context.consent.categoryPreferences') }}
            as consent_preferences,
        {{ cdp.json_timestamp(payload, '$.receivedAt') }} as received_at
{%- endset -%}
with

source as (

    {{ cdp.staging_source(reader=payload) }}

),

preferences as (

    select
        -- ids
        message_id,
        type as message_type,
        -- consent as sent, and receivedAt
{{ consent_columns }},
        -- timestamps
        event_at,
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
