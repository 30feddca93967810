{#- Every identifier on every message, in long form: the input of identity resolution.
    Junk values are kept here, flagged, so they can be counted; nothing downstream links them.
    The message's analytics consent comes along: a message that refuses it links nothing
    (int_identity__message_identifiers leaves it out), though its identifiers still say whose
    it is (int_identity__message_customers). -#}
{%- set payload = cdp.json_reader('payload') -%}
{%- set identifier_columns -%}
        {{ cdp.json_str(payload, '$.anonymousId') }} as anonymous_id,
        {{ cdp.json_str(payload, '$.userId') }} as user_id,
        {{ cdp.json_str(payload, '$.previousId') }} as previous_id,
        {{ cdp.message_email(payload) }} as email,
        {{ cdp.message_phone(payload) }} as phone,
        {{ cdp.json_bool(payload, "$.context.consent.categoryPreferences."
            ~ var('analytics_consent_category')) }} as analytics_consent
{%- endset -%}
with

source as {{ cdp.inlined() }} (

    {{ cdp.staging_source(reader=payload) }}

),

fields as {{ cdp.inlined() }} (

    select
        message_id,
        type as message_type,
        event_at,
        received_date,
        loaded_at,
{{ identifier_columns }}
    from source

),

unpivoted as (

    -- union all: the later branches take their column names from the first
    -- noqa: disable=AL03
    select message_id, message_type, analytics_consent, event_at, received_date, loaded_at,
        'anonymous_id' as identifier_type, 'anonymousId' as source_field, anonymous_id as raw_value,
        {{ cdp.clean_identifier('anonymous_id') }} as identifier_value
    from fields
    where anonymous_id is not null
    union all
    select message_id, message_type, analytics_consent, event_at, received_date, loaded_at,
        'user_id', 'userId', user_id,
        {{ cdp.clean_identifier('user_id') }}
    from fields
    where user_id is not null
    union all
    select message_id, message_type, analytics_consent, event_at, received_date, loaded_at,
        'previous_id', 'previousId', previous_id,
        {{ cdp.clean_identifier('previous_id') }}
    from fields
    where previous_id is not null and message_type = 'alias'
    union all
    select message_id, message_type, analytics_consent, event_at, received_date, loaded_at,
        'email', 'traits.email', email,
        {{ cdp.normalize_email('email') }}
    from fields
    where email is not null
    union all
    select message_id, message_type, analytics_consent, event_at, received_date, loaded_at,
        'phone', 'traits.phone', phone,
        {{ cdp.normalize_phone(cdp.clean_identifier('phone')) }}
    from fields
    where phone is not null
    -- noqa: enable=AL03

),

flagged as (

    select
        -- ids
        message_id,
        message_type,
        identifier_type,
        source_field,
        -- values
        raw_value,
        identifier_value,
        -- booleans
        identifier_value is null as is_junk,
        -- consent for the analytics category: true / false / null (not stated)
        analytics_consent,
        -- timestamps
        event_at,
        received_date,
        loaded_at
    from unpivoted

)

select * from flagged
