with

conflicts as (

    select * from {{ ref('int_identity__resolution') }}
    where record_type = 'conflict'

)

select
    message_id,
    occurred_at,
    rule,
    identifier_type,
    identifier_value,
    conflicting_identifier_type,
    conflicting_identifier_value
from conflicts
