{#- The identifiers that can decide a message's owner, one row per message in wide form: its
    non-junk user id, anonymous id, email and phone, whatever its analytics consent (a message
    refusing it links nothing but still has an owner). The input of
    int_identity__message_customers, which reassigns only the messages of new days and those
    carrying an identifier whose graph row changed: this narrow table finds the latter without
    scanning stg_events__identifiers (a view over the raw JSON) for all history.

    Incremental like int_identity__message_identifiers (macros/identity_incremental.sql): the
    pre-hook deletes the rows of the received days loaded since the last run (every day when
    the junk list or consent category changed: rules_fingerprint), the run writes them again,
    and delete+insert on message_id removes a message from the day it left. Erasure deletes an
    erased message's row like everywhere else. On Spark the model is a table, rebuilt whole. -#}
{{
    config(
        materialized=cdp.keyed_incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='message_id',
        pre_hook="{{ cdp.delete_identifier_days_to_process() }}",
    )
}}

with

identifiers as (

    select
        message_id,
        received_date,
        loaded_at,
        identifier_type,
        identifier_value
    from {{ ref('stg_events__identifiers') }}
    where not is_junk
        and identifier_type in ('user_id', 'anonymous_id', 'email', 'phone')
        and {{ cdp.identifier_days_to_process('received_date') }}

)

select
    message_id,
    -- staging holds at most one value of each type per message
    max(case when identifier_type = 'user_id' then identifier_value end) as user_id,
    max(case when identifier_type = 'anonymous_id' then identifier_value end) as anonymous_id,
    max(case when identifier_type = 'email' then identifier_value end) as email,
    max(case when identifier_type = 'phone' then identifier_value end) as phone,
    received_date,
    loaded_at,
    {{ cdp.identifier_rules_fingerprint() }} as rules_fingerprint
from identifiers
group by message_id, received_date, loaded_at
