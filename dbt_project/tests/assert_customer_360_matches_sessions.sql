{#- customer_360's session counts are those of marts.sessions. -#}
{#- reported in Dagster as a check of customer_360 (it reads several models) -#}
{{ config(meta={'dagster': {'ref': {'name': 'customer_360'}}}) }}
with per_customer as (
    select customer_id, count(*) as sessions, sum(page_views) as page_views
    from {{ ref('sessions') }}
    where customer_id is not null
    group by customer_id
)
select c.customer_id
from {{ ref('customer_360') }} as c
left join per_customer as p on p.customer_id = c.customer_id
where c.sessions <> coalesce(p.sessions, 0) or c.page_views <> coalesce(p.page_views, 0)
