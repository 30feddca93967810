{#- Reconciliation: every page and screen view belongs to the customer of its session (a
    session is one customer's visit; a view's customer is its message's owner). -#}
{#- reported in Dagster as a check of sessions (it reads several models) -#}
{{ config(meta={'dagster': {'ref': {'name': 'sessions'}}}) }}
with

views as (

    select 'page' as view_type, event_id, session_id, customer_id
    from {{ ref('page_views') }}
    union all
    select 'screen' as view_type, event_id, session_id, customer_id
    from {{ ref('screen_views') }}

)

select
    views.view_type,
    views.event_id,
    views.session_id,
    views.customer_id as view_customer_id,
    sessions.customer_id as session_customer_id
from views
left join {{ ref('sessions') }} as sessions
    on views.session_id = sessions.session_id
where sessions.session_id is null
    or views.customer_id is distinct from sessions.customer_id
