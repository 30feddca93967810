select customer_id, count(*) filter (where is_anchor) as anchors
from {{ ref('identity_graph') }}
group by customer_id
having count(*) filter (where is_anchor) <> 1
