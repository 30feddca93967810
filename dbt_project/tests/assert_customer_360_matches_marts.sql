{#- Reconciliation: for every customer, customer_360's counts equal the rows of the marts they
    summarise: sessions (marts.sessions), page views (marts.page_views), screen views
    (marts.screen_views), track events (marts.sessions.track_events), orders and revenue
    (marts.orders). Every mart attributes an event to its owner
    (int_identity__message_customers), so they agree; a customer in a mart but not in
    customer_360 fails too. -#}
{#- reported in Dagster as a check of customer_360 (it reads several models) -#}
{{ config(meta={'dagster': {'ref': {'name': 'customer_360'}}}) }}
with

session_rows as (

    select
        customer_id,
        count(*) as sessions,
        sum(track_events) as track_events
    from {{ ref('sessions') }}
    group by customer_id

),

page_view_rows as (

    select customer_id, count(*) as page_views
    from {{ ref('page_views') }}
    group by customer_id

),

screen_view_rows as (

    select customer_id, count(*) as screen_views
    from {{ ref('screen_views') }}
    group by customer_id

),

order_rows as (

    select customer_id, count(*) as orders, coalesce(sum(revenue), 0) as revenue
    from {{ ref('orders') }}
    group by customer_id

),

mart_customers as (

    select customer_id from session_rows
    union
    select customer_id from page_view_rows
    union
    select customer_id from screen_view_rows
    union
    select customer_id from order_rows

),

compared as (

    select
        coalesce(customers.customer_id, mart_customers.customer_id) as customer_id,
        customers.customer_id is null as is_missing_from_customer_360,
        customers.sessions,
        coalesce(session_rows.sessions, 0) as session_rows,
        customers.views,
        customers.page_views,
        coalesce(page_view_rows.page_views, 0) as page_view_rows,
        customers.screen_views,
        coalesce(screen_view_rows.screen_views, 0) as screen_view_rows,
        customers.track_events,
        coalesce(session_rows.track_events, 0) as session_track_events,
        customers.orders,
        coalesce(order_rows.orders, 0) as order_rows,
        customers.revenue,
        coalesce(order_rows.revenue, 0) as order_revenue
    from {{ ref('customer_360') }} as customers
    full outer join mart_customers
        on customers.customer_id = mart_customers.customer_id
    left join session_rows
        on coalesce(customers.customer_id, mart_customers.customer_id) = session_rows.customer_id
    left join page_view_rows
        on coalesce(customers.customer_id, mart_customers.customer_id)
        = page_view_rows.customer_id
    left join screen_view_rows
        on coalesce(customers.customer_id, mart_customers.customer_id)
        = screen_view_rows.customer_id
    left join order_rows
        on coalesce(customers.customer_id, mart_customers.customer_id) = order_rows.customer_id

)

select *
from compared
where is_missing_from_customer_360
    or sessions <> session_rows
    or page_views <> page_view_rows
    or screen_views <> screen_view_rows
    or views <> page_view_rows + screen_view_rows
    or track_events <> session_track_events
    or orders <> order_rows
    or abs(revenue - order_revenue) > 0.005
