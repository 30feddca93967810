with

nodes as (

    select * from {{ ref('int_identity__resolution') }}
    where record_type = 'node'

)

select
    identifier_type,
    identifier_value,
    customer_id,
    anchor_type,
    anchor_value,
    first_seen_at,
    last_seen_at,
    first_message_id,
    cast(messages as bigint) as messages,
    identifier_type = anchor_type and identifier_value = anchor_value as is_anchor
from nodes
