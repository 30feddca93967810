select customer_id, count(*) as user_ids
from {{ ref('identity_graph') }}
where identifier_type = 'user_id'
group by customer_id
having count(*) > {{ var('max_user_ids_per_customer') }}
