{#- Orders per customer, from marts.orders (one row per distinct order_id of `Order Completed`,
    revenue from properties.revenue else properties.total): the order rules live there once. -#}
with

orders as (

    select * from {{ ref('orders') }}

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
