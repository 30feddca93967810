{#- Step 5 of the SQL identity resolver (identity_resolution.sql): customers, anchors and node
    statistics, from the final roots table of step 4. -#}
{% macro identity_resolution_customers(roots) -%}
    {%- set w = cdp.identity_resolution_work -%}

    {#- 5. customers, anchors and node statistics -#}
    {%- set sql -%}
        with

        customers as (

            select
                c.node_id,
                coalesce(r.root, c.component) as customer
            from {{ w('components') }} as c
            left join {{ roots }} as r on r.node_id = c.node_id

        ),

        node_sightings as (

            select
                mb.node_id,
                min(m.message_at) as first_seen_at,
                max(m.message_at) as last_seen_at,
                min(mb.message_rank) as first_message_rank,
                count(*) as messages
            from {{ w('memberships') }} as mb
            inner join {{ w('messages') }} as m on m.message_rank = mb.message_rank
            group by mb.node_id

        ),

        anchor_candidates as (

            select
                c.node_id,
                c.customer,
                row_number() over (
                    partition by c.customer
                    order by s.first_seen_at, c.node_id
                ) as anchor_order
            from customers as c
            inner join node_sightings as s on s.node_id = c.node_id

        ),

        anchors as (

            select
                a.customer,
                n.identifier_type as anchor_type,
                n.identifier_value as anchor_value
            from anchor_candidates as a
            inner join {{ w('nodes') }} as n on n.node_id = a.node_id
            where a.anchor_order = 1

        )

        select
            n.node_id,
            n.identifier_type,
            n.identifier_value,
            {{ dbt.concat(["'c_'", "substr(" ~ cdp.keyed_hash(
                dbt.concat(["a.anchor_type", "':'"]), "a.anchor_value") ~ ", 1, 20)"]) }}
                as customer_id,
            a.anchor_type,
            a.anchor_value,
            s.first_seen_at,
            s.last_seen_at,
            m.message_id as first_message_id,
            s.messages
        from customers as c
        inner join {{ w('nodes') }} as n on n.node_id = c.node_id
        inner join node_sightings as s on s.node_id = c.node_id
        inner join anchors as a on a.customer = c.customer
        inner join {{ w('messages') }} as m on m.message_rank = s.first_message_rank
    {%- endset -%}
    {%- do cdp.identity_resolution_create("node_customers", sql) -%}
{%- endmacro %}
