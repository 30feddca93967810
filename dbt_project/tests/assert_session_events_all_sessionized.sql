-- Every page and track event that may be used (analytics consent not refused, an anonymous id
-- or a user id) is in exactly one session, and no other event is: the incremental models hold
-- exactly what a full rebuild would.
-- reported in Dagster as a check of int_sessions__sessionized (it reads several models)
{{ config(meta={'dagster': {'ref': {'name': 'int_sessions__sessionized'}}}) }}
with

usable_events as (

    select message_id
    from {{ ref('int_sessions__events_unioned') }}
    where session_key is not null
        and not is_excluded_by_consent
        -- a nightly build checks the days it loaded (cdp.tested_rows)
        and {{ cdp.tested_rows('received_date') }}

),

sessionized_events as (

    select message_id, count(*) as copies
    from {{ ref('int_sessions__sessionized') }}
    where {{ cdp.tested_rows('received_date') }}
    group by message_id

)

select
    coalesce(usable_events.message_id, sessionized_events.message_id) as message_id,
    usable_events.message_id is not null as is_usable,
    sessionized_events.copies
from usable_events
full outer join sessionized_events
    on usable_events.message_id = sessionized_events.message_id
where usable_events.message_id is null
    or sessionized_events.message_id is null
    or sessionized_events.copies <> 1
