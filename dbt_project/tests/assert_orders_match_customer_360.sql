{#- marts.orders adds up to the orders and revenue of marts.customer_360. -#}
{{ config(meta={'dagster': {'ref': {'name': 'orders'}}}) }}
with per_customer as (
    select customer_id, count(*) as orders, coalesce(sum(revenue), 0) as revenue
    from {{ ref('orders') }}
    group by customer_id
)
select c.customer_id
from {{ ref('customer_360') }} as c
full outer join per_customer as p on p.customer_id = c.customer_id
where c.customer_id is null
    or coalesce(p.orders, 0) <> c.orders
    or abs(coalesce(p.revenue, 0) - c.revenue) > 0.005
