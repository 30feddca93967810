{#- Every customer of customer_360 is in customer_360_pseudonymised (the cross join with
    privacy.pseudonymisation_key would silently drop everyone if the key row were missing). -#}
{#- reported in Dagster as a check of customer_360_pseudonymised (it reads several models) -#}
{{ config(meta={'dagster': {'ref': {'name': 'customer_360_pseudonymised'}}}) }}
select customers.customer_id
from {{ ref('customer_360') }} as customers
left join {{ ref('customer_360_pseudonymised') }} as pseudonymised
    on customers.customer_id = pseudonymised.customer_id
where pseudonymised.customer_id is null
