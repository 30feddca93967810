with

graph as (

    select * from {{ ref('identity_graph') }}

),

traits as (

    select * from {{ ref('int_customers__traits') }}

),

orders as (

    select * from {{ ref('int_customers__orders') }}

),

sessions as (

    select * from {{ ref('sessions') }}

),

identifiers as (

    select
        customer_id,
        min(first_seen_at) as first_seen_at,
        max(last_seen_at) as last_seen_at,
        count(*) as identifiers,
        count(case when identifier_type = 'anonymous_id' then 1 end) as anonymous_ids,
        count(case when identifier_type = 'email' then 1 end) as emails,
        -- the customer's user id: the earliest seen (there is one unless the limit is raised)
        {{ cdp.first_non_null(
            "case when identifier_type = 'user_id' then identifier_value end",
            'first_seen_at', 'identifier_value') }} as user_id,
        -- the email seen most recently
        {{ cdp.latest_non_null(
            "case when identifier_type = 'email' then identifier_value end",
            'last_seen_at', 'identifier_value') }} as email
    from graph
    group by customer_id

),

session_totals as (

    -- a session, its views and its track events belong to the owner of its events
    -- (int_identity__message_customers): these sums are the customer's rows of marts.sessions,
    -- marts.page_views and marts.screen_views (tests/assert_customer_360_matches_marts.sql)
    select
        customer_id,
        count(*) as sessions,
        cast(sum(views) as {{ dbt.type_bigint() }}) as views,
        cast(sum(page_views) as {{ dbt.type_bigint() }}) as page_views,
        cast(sum(screen_views) as {{ dbt.type_bigint() }}) as screen_views,
        cast(sum(track_events) as {{ dbt.type_bigint() }}) as track_events,
        count(case when has_conversion then 1 end) as converting_sessions,
        count(case when is_app_session then 1 end) as app_sessions,
        -- the platforms of the customer's sessions, in alphabetical order
        nullif(concat_ws(', ',
            max(case when platform = 'android' then 'android' end),
            max(case when platform = 'ios' then 'ios' end),
            max(case when platform = 'other' then 'other' end),
            max(case when platform = 'web' then 'web' end)
        ), '') as platforms,
        {{ cdp.latest_non_null('case when is_app_session then app_version end',
            'started_at', 'session_id') }} as last_app_version,
        {{ cdp.first_non_null('utm_source', 'started_at', 'session_id') }} as first_touch_source,
        {{ cdp.first_non_null('utm_medium', 'started_at', 'session_id') }} as first_touch_medium,
        {{ cdp.first_non_null('utm_campaign', 'started_at', 'session_id') }}
            as first_touch_campaign,
        {{ cdp.latest_non_null('utm_source', 'started_at', 'session_id') }} as last_touch_source,
        {{ cdp.latest_non_null('utm_medium', 'started_at', 'session_id') }} as last_touch_medium,
        {{ cdp.latest_non_null('utm_campaign', 'started_at', 'session_id') }}
            as last_touch_campaign
    from sessions
    where customer_id is not null
    group by customer_id

),

as_of as (

    -- "days since last seen" counts to the newest event in the warehouse, so a rebuild of
    -- the same data gives the same numbers whatever day it runs.
    select max(last_seen_at) as as_of_at from graph

),

final as (

    select
        -- ids
        i.customer_id,
        i.user_id,
        i.email,
        -- traits
        t.name,
        t.first_name,
        t.last_name,
        t.phone,
        t.plan,
        t.company_name,
        t.account_created_at,
        -- identifiers
        i.identifiers,
        i.anonymous_ids,
        i.emails,
        -- activity
        i.first_seen_at,
        i.last_seen_at,
        -- bigint on every engine (Spark's datediff is an int): the mart's contract
        cast(
            {{ dbt.datediff('i.last_seen_at', 'a.as_of_at', 'day') }}  -- noqa: LT05
            as {{ dbt.type_bigint() }}
        ) as days_since_last_seen,
        coalesce(s.sessions, 0) as sessions,
        coalesce(s.views, 0) as views,
        coalesce(s.page_views, 0) as page_views,
        coalesce(s.screen_views, 0) as screen_views,
        coalesce(s.track_events, 0) as track_events,
        coalesce(s.converting_sessions, 0) as converting_sessions,
        -- apps
        coalesce(s.app_sessions, 0) as app_sessions,
        s.platforms,
        s.last_app_version,
        -- commerce
        coalesce(o.orders, 0) as orders,
        cast(coalesce(o.revenue, 0) as {{ dbt.type_numeric() }}) as revenue,
        o.first_order_at,
        o.last_order_at,
        -- attribution
        s.first_touch_source,
        s.first_touch_medium,
        s.first_touch_campaign,
        s.last_touch_source,
        s.last_touch_medium,
        s.last_touch_campaign
    from identifiers as i
    cross join as_of as a
    left join traits as t on t.customer_id = i.customer_id
    left join orders as o on o.customer_id = i.customer_id
    left join session_totals as s on s.customer_id = i.customer_id

)

select
    customer_id,
    user_id,
    email,
    name,
    first_name,
    last_name,
    phone,
    plan,
    company_name,
    account_created_at,
    identifiers,
    anonymous_ids,
    emails,
    first_seen_at,
    last_seen_at,
    days_since_last_seen,
    sessions,
    views,
    page_views,
    screen_views,
    track_events,
    converting_sessions,
    app_sessions,
    platforms,
    last_app_version,
    orders,
    revenue,
    first_order_at,
    last_order_at,
    first_touch_source,
    first_touch_medium,
    first_touch_campaign,
    last_touch_source,
    last_touch_medium,
    last_touch_campaign
from final
