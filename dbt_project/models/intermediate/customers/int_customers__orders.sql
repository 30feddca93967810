{#- Orders per customer: distinct properties.order_id of `Order Completed`, revenue from
    properties.revenue else properties.total (a retried order counts once). -#}
with

tracks as (

    select * from {{ ref('stg_events__tracks') }}
    where event_name = 'Order Completed'
        and order_id is not null
        and (analytics_consent is null or analytics_consent)

),

message_customers as (

    select * from {{ ref('int_identity__message_customers') }}

),

orders as (

    select
        mc.customer_id,
        t.order_id,
        min(t.event_at) as ordered_at,
        max(t.revenue) as revenue
    from tracks as t
    inner join message_customers as mc on mc.message_id = t.message_id
    group by mc.customer_id, t.order_id

),

per_customer as (

    select
        customer_id,
        count(*) as orders,
        coalesce(sum(revenue), 0) as revenue,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from orders
    group by customer_id

)

select * from per_customer
