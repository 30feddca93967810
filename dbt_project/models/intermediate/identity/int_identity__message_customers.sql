{#- The customer of every message that carries an identifier: the customer of its user id,
    else of its anonymous id, else of its email, else of any other identifier (DESIGN.md:
    an event that carries a user id belongs to that user's customer). -#}
with

identifiers as (

    select * from {{ ref('int_identity__message_identifiers') }}

),

graph as (

    select * from {{ ref('identity_graph') }}

),

candidates as (

    select
        i.message_id,
        g.customer_id,
        case i.identifier_type
            when 'user_id' then 1
            when 'anonymous_id' then 2
            when 'email' then 3
            else 4
        end as preference,
        i.identifier_type,
        i.identifier_value
    from identifiers as i
    inner join graph as g
        on g.identifier_type = i.identifier_type
        and g.identifier_value = i.identifier_value

),

ranked as (

    select
        *,
        row_number() over (
            partition by message_id
            order by preference, identifier_value
        ) as choice
    from candidates

)

select
    message_id,
    customer_id,
    identifier_type as resolved_by
from ranked
where choice = 1
