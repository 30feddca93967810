{#- Steps 1 and 2 of the SQL identity resolver (identity_resolution.sql): messages ranked,
    identifiers numbered in priority order, and the distinct identifier sets. -#}
{% macro identity_resolution_sets(source) -%}
    {%- set w = cdp.identity_resolution_work -%}

    {#- 1. messages and identifiers -#}
    {%- set sql -%}
        with

        messages as (

            select message_id, min(event_at) as message_at
            from {{ source }}
            group by message_id

        )

        select
            message_id,
            message_at,
            row_number() over (order by message_at, message_id) as message_rank
        from messages
    {%- endset -%}
    {%- do cdp.identity_resolution_create("messages", sql) -%}

    {%- set sql -%}
        with

        identifiers as (

            select distinct identifier_type, identifier_value
            from {{ source }}

        )

        select
            identifier_type,
            identifier_value,
            row_number() over (
                order by {{ cdp.identifier_type_priority('identifier_type') }},
                    identifier_value, identifier_type
            ) as node_id,
            case when identifier_type = 'user_id' then 1 else 0 end as is_user
        from identifiers
    {%- endset -%}
    {%- do cdp.identity_resolution_create("nodes", sql) -%}

    {%- set sql -%}
        select distinct
            m.message_rank,
            n.node_id
        from {{ source }} as i
        inner join {{ w('messages') }} as m
            on m.message_id = i.message_id
        inner join {{ w('nodes') }} as n
            on n.identifier_type = i.identifier_type
            and n.identifier_value = i.identifier_value
    {%- endset -%}
    {%- do cdp.identity_resolution_create("memberships", sql) -%}

    {#- 2. distinct identifier sets: a message's set as one row of node ids, n1 < n2 < ... -#}
    {%- set width = [cdp.identity_resolution_scalar(
        "select max(identifiers) from (select count(*) as identifiers from "
        ~ w('memberships') ~ " group by message_rank) as message_sizes"), 1] | max -%}
    {%- set sql -%}
        with

        members as (

            select
                message_rank,
                node_id,
                row_number() over (partition by message_rank order by node_id) as member_order,
                count(*) over (partition by message_rank) as set_size
            from {{ w('memberships') }}

        ),

        message_sets as (

            select
                message_rank,
                set_size,
                {%- for i in range(1, width + 1) %}
                max(case when member_order = {{ i }} then node_id end)
                    as n{{ i }}{{ "," if not loop.last }}
                {%- endfor %}
            from members
            where set_size > 1
            group by message_rank, set_size

        ),

        first_copies as (

            select
                message_rank,
                row_number() over (
                    partition by set_size
                        {%- for i in range(1, width + 1) %}, n{{ i }}{% endfor %}
                    order by message_rank
                ) as copy_order
            from message_sets

        )

        select
            m.message_rank as set_id,
            m.node_id,
            m.member_order
        from members as m
        inner join first_copies as f
            on f.message_rank = m.message_rank
            and f.copy_order = 1
    {%- endset -%}
    {%- do cdp.identity_resolution_create("sets", sql) -%}
{%- endmacro %}
