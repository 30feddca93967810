{{ config(severity='warn') }}
-- Counts (as a warning) the page and track events whose time was more than
-- var future_tolerance_minutes after their receivedAt (a device clock in the future); their
-- time was clamped to receivedAt so they cannot stretch sessions or dates.
select
    message_id,
    event_type,
    session_key,
    original_event_at,
    event_at,
    received_at
from {{ ref('int_sessions__events_unioned') }}
where is_clamped
