{#- Convergence: two identifiers seen on one message that ended in different customers must
    have been set aside by merge protection (one of them appears in identity_conflicts).
    Anything else means the components were not fully resolved. Checked per message: a message
    fails when its identifiers that were never set aside belong to more than one customer (the
    same as checking every pair of them, without building the pairs). -#}
{#- reported in Dagster as a check of identity_graph (it reads several models) -#}
{{ config(meta={'dagster': {'ref': {'name': 'identity_graph'}}}) }}
with

-- a nightly build checks the messages of the days it loaded (cdp.tested_rows)
identifiers as (
    select * from {{ ref('int_identity__message_identifiers') }}
    where {{ cdp.tested_rows('received_date') }}
),

graph as (select * from {{ ref('identity_graph') }}),

set_aside as (
    select distinct identifier_type, identifier_value from {{ ref('identity_conflicts') }}
),

message_customers as (

    select
        i.message_id,
        g.customer_id
    from identifiers as i
    inner join graph as g
        on g.identifier_type = i.identifier_type
        and g.identifier_value = i.identifier_value
    where not exists (
        select 1 from set_aside as s
        where s.identifier_type = i.identifier_type
            and s.identifier_value = i.identifier_value
    )

)

select
    message_id,
    count(distinct customer_id) as customers
from message_customers
group by message_id
having count(distinct customer_id) > 1
