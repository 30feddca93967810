{{ config(severity='warn') }}
-- Counts (as a warning) the sessions cut by var max_session_hours: visitor activity that ran
-- longer than the cap under one tracker session id or without a 30-minute pause (bots,
-- kiosks, tabs left open). A non-zero count is information, not an error.
select
    session_id,
    anonymous_id,
    user_id,
    tracker_session_id,
    started_at,
    ended_at
from {{ ref('sessions') }}
where is_split_by_cap
