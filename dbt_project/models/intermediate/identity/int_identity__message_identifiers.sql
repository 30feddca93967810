{#- The accepted identifiers of each message that may link them (junk removed, and no message
    whose analytics consent is false), with alias previousIds typed as
    the identifier they name: a user id when that value is used as a user id anywhere, else an
    anonymous id (the usual case: aliasing a browser to the new user id).

    One row per (message, type, value) without a `distinct` over every row: staging holds one
    row per message and identifier type, so only a typed previousId can repeat a row, when its
    own alias message carries the same value as that type; those are dropped by comparing
    alias messages only.

    Incremental on the received days loaded since the last run (macros/incremental.sql): the
    pre-hook deletes those days' rows and the run writes them again, so a reloaded day that
    lost a message (its copy moved to another day, raw.superseded) loses its rows; delete+insert
    on message_id removes a message's rows from the day it left. A previousId's type depends on
    every day's user ids, so the alias messages of the other days are typed again on each run
    and written again where their rows differ. Every row carries the run's start
    (identified_at): identity resolution recomputes what the rows written since its last run
    touch. A change of the junk list or of the consent category (rules_fingerprint) reprocesses
    every day (macros/identity_incremental.sql). Erasure deletes an erased message's rows here
    like everywhere else. On Spark the model is a table, rebuilt whole. -#}
{{
    config(
        materialized=cdp.keyed_incremental_materialization(),
        incremental_strategy='delete+insert',
        unique_key='message_id',
        pre_hook="{{ cdp.delete_identifier_days_to_process() }}",
    )
}}

with

linking_identifiers as (

    select
        message_id,
        message_type,
        event_at,
        received_date,
        loaded_at,
        identifier_type,
        identifier_value
    from {{ ref('stg_events__identifiers') }}
    -- a message that refuses analytics consent links nothing (it stays in raw for erasure)
    where not is_junk
        and (analytics_consent is null or analytics_consent)

),

identifiers as (

    select * from linking_identifiers
    where {{ cdp.identifier_days_to_process('received_date') }}

),

{% if is_incremental() %}

-- the alias messages of the days not processed: their previousIds are typed again
other_day_aliases as (

    select * from linking_identifiers
    where message_type = 'alias'
        and not ({{ cdp.identifier_days_to_process("received_date") }})

),

{% endif %}

candidates as (

    select * from identifiers
    {% if is_incremental() %}
    union all
    select * from other_day_aliases
    {% endif %}

),

previous_id_values as (

    select distinct identifier_value
    from candidates
    where identifier_type = 'previous_id'

),

-- the previousId values used as a user id on any day
known_user_ids as (

    select distinct all_days.identifier_value
    from {{ 'linking_identifiers' if is_incremental() else 'identifiers' }} as all_days
    inner join previous_id_values
        on all_days.identifier_value = previous_id_values.identifier_value
    where all_days.identifier_type = 'user_id'

),

direct_identifiers as (

    select * from candidates
    where identifier_type <> 'previous_id'

),

typed_previous_ids as (

    select
        i.message_id,
        i.event_at,
        i.received_date,
        i.loaded_at,
        case
            when u.identifier_value is not null then 'user_id'
            else 'anonymous_id'
        end as identifier_type,
        i.identifier_value
    from candidates as i
    left join known_user_ids as u
        on i.identifier_value = u.identifier_value
    where i.identifier_type = 'previous_id'

),

-- the direct identifiers of alias messages, the only ones a previousId can repeat
alias_identifiers as (

    select
        message_id,
        identifier_type,
        identifier_value
    from direct_identifiers
    where message_type = 'alias'

),

new_previous_ids as (

    select
        p.message_id,
        p.event_at,
        p.received_date,
        p.loaded_at,
        p.identifier_type,
        p.identifier_value
    from typed_previous_ids as p
    left join alias_identifiers as a
        on p.message_id = a.message_id
        and p.identifier_type = a.identifier_type
        and p.identifier_value = a.identifier_value
    where a.message_id is null

),

typed as (

    select
        message_id,
        event_at,
        received_date,
        loaded_at,
        identifier_type,
        identifier_value
    from direct_identifiers
    union all
    select
        message_id,
        event_at,
        received_date,
        loaded_at,
        identifier_type,
        identifier_value
    from new_previous_ids

),

{% if is_incremental() %}

-- rows of the other days' alias messages that differ from the stored ones, either way
other_day_alias_rows as (

    select
        message_id,
        identifier_type,
        identifier_value
    from typed
    where message_id in (select message_id from other_day_aliases)

),

stored_alias_rows as (

    select
        message_id,
        identifier_type,
        identifier_value
    from {{ this }}
    where message_id in (select message_id from other_day_aliases)

),

retyped_messages as (

    select message_id from (
        select * from other_day_alias_rows
        except
        select * from stored_alias_rows
    ) as added
    union
    select message_id from (
        select * from stored_alias_rows
        except
        select * from other_day_alias_rows
    ) as removed

),

{% endif %}

final as (

    select
        message_id,
        event_at,
        identifier_type,
        identifier_value,
        received_date,
        loaded_at,
        {{ cdp.build_started_at() }} as identified_at,
        {{ cdp.identifier_rules_fingerprint() }} as rules_fingerprint
    from typed
    {% if is_incremental() %}
    where message_id not in (select message_id from other_day_aliases)
        or message_id in (select message_id from retyped_messages)
    {% endif %}

)

select * from final
