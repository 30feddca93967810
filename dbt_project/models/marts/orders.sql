{#- One row per order: distinct properties.order_id of `Order Completed` per customer, with its
    revenue (properties.revenue, else properties.total; a retried order counts once), time and
    the session it was placed in. int_customers__orders aggregates these rows, so the orders and
    revenue of marts.customer_360 are the sums of these rows. -#}
with

order_events as (

    select * from {{ ref('stg_events__tracks') }}
    where event_name = 'Order Completed'
        and order_id is not null
        and (analytics_consent is null or analytics_consent)

),

message_customers as (

    select message_id, customer_id
    from {{ ref('int_identity__message_customers') }}

),

sessionized as (

    select message_id, session_id
    from {{ ref('int_sessions__sessionized') }}

),

order_messages as (

    select
        message_customers.customer_id,
        order_events.order_id,
        order_events.message_id,
        order_events.event_at,
        order_events.revenue,
        order_events.currency,
        row_number() over (
            partition by message_customers.customer_id, order_events.order_id
            order by order_events.event_at, order_events.message_id
        ) as message_rank
    from order_events
    inner join message_customers
        on order_events.message_id = message_customers.message_id

),

orders as (

    select
        customer_id,
        order_id,
        min(event_at) as ordered_at,
        max(revenue) as revenue,
        count(*) as order_messages
    from order_messages
    group by customer_id, order_id

),

first_messages as (

    select customer_id, order_id, message_id, currency
    from order_messages
    where message_rank = 1

),

final as (

    select
        -- ids
        orders.order_id,
        orders.customer_id,
        sessionized.session_id,
        first_messages.message_id,

        -- timestamps
        orders.ordered_at,
        cast(orders.ordered_at as date) as ordered_date,

        -- amounts
        orders.revenue,
        first_messages.currency,
        orders.order_messages

    from orders
    inner join first_messages
        on orders.customer_id = first_messages.customer_id
        and orders.order_id = first_messages.order_id
    left join sessionized
        on first_messages.message_id = sessionized.message_id

)

select
    order_id,
    customer_id,
    session_id,
    message_id,
    ordered_at,
    ordered_date,
    revenue,
    currency,
    order_messages
from final
