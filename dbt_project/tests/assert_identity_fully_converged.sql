{#- Convergence: an edge whose two identifiers ended in different customers must have been set
    aside by merge protection (one of its ends appears in identity_conflicts). Anything else
    means the components were not fully resolved. -#}
{#- reported in Dagster as a check of identity_graph (it reads several models) -#}
{{ config(meta={'dagster': {'ref': {'name': 'identity_graph'}}}) }}
with

graph as (select * from {{ ref('identity_graph') }}),
edges as (select * from {{ ref('int_identity__edges') }}),
set_aside as (
    select distinct identifier_type, identifier_value from {{ ref('identity_conflicts') }}
)

select e.*
from edges as e
inner join graph as ga on ga.identifier_type = e.a_type and ga.identifier_value = e.a_value
inner join graph as gb on gb.identifier_type = e.b_type and gb.identifier_value = e.b_value
where ga.customer_id <> gb.customer_id
  and not exists (
      select 1 from set_aside s
      where (s.identifier_type = e.a_type and s.identifier_value = e.a_value)
         or (s.identifier_type = e.b_type and s.identifier_value = e.b_value)
  )
