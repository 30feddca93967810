{#- Step 4 of the SQL identity resolver (identity_resolution.sql): merge protection in message
    order, by rounds; returns the number of rounds and the final roots (a table, or the
    starting roots' query when no round ran).

    Each round reads the roots and the pending sets the previous one wrote; the first reads
    their starting state (every node its own root, every set of an ordered component
    pending) straight from the components, without copying it into tables first. -#}
{% macro identity_resolution_protection(max_user_ids, max_rounds) -%}
    {%- set w = cdp.identity_resolution_work -%}

    {#- 4. merge protection, in message order, in the components with too many user ids -#}
    {%- set first_roots -%}
        (
            select c.node_id, c.node_id as root, n.is_user
            from {{ w('components') }} as c
            inner join {{ w('nodes') }} as n on n.node_id = c.node_id
            where c.is_ordered
        )
    {%- endset -%}
    {%- set first_pending -%}
        (
            select s.set_id, s.node_id, s.member_order, true as is_blocked
            from {{ w('sets') }} as s
            inner join {{ w('components') }} as c on c.node_id = s.node_id
            where c.is_ordered
        )
    {%- endset -%}
    {%- set sql -%}
        select set_id, node_id as set_aside_node_id, node_id as kept_node_id
        from {{ w('sets') }}
        where 1 = 0
    {%- endset -%}
    {%- do cdp.identity_resolution_create("conflicts", sql) -%}

    {%- set ordered_sets = cdp.identity_resolution_scalar(
        "select count(*) from " ~ first_pending ~ " as ordered_sets") -%}
    {%- set mp = namespace(current=0, rounds=0, done=(ordered_sets == 0)) -%}
    {%- for _ in range(max_rounds) if not mp.done -%}
        {%- set roots = w('roots_' ~ mp.current) if mp.rounds > 0 else first_roots -%}
        {%- set pending = w('evaluated_' ~ (1 - mp.current)) if mp.rounds > 0
            else first_pending -%}
        {%- set sql -%}
            with

            root_users as (

                select root, sum(is_user) as user_ids
                from {{ roots }} as current_roots
                group by root

            ),

            members as (

                select
                    p.set_id,
                    p.node_id,
                    p.member_order,
                    r.root,
                    u.user_ids,
                    min(p.member_order) over (partition by p.set_id, r.root) as root_order
                from {{ pending }} as p
                inner join {{ roots }} as r on r.node_id = p.node_id
                inner join root_users as u on u.root = r.root
                where p.is_blocked

            ),

            prefix_users as (

                select
                    *,
                    sum(case when member_order = root_order then user_ids else 0 end) over (
                        partition by set_id
                        order by member_order
                        rows between unbounded preceding and current row
                    ) as prefix_user_ids
                from members

            ),

            kept_prefixes as (

                select
                    *,
                    sum(case when prefix_user_ids <= {{ max_user_ids }} then 1 else 0 end)
                        over (partition by set_id) as kept_members,
                    sum(case when member_order = root_order then 1 else 0 end)
                        over (partition by set_id) as customers
                from prefix_users

            ),

            {#- sets whose identifiers already share one customer never change anything -#}
            evaluated_members as (

                select
                    *,
                    root_order <= kept_members as is_kept,
                    sum(case when member_order = root_order and root_order <= kept_members
                        then 1 else 0 end) over (partition by set_id) >= 2 as is_writer
                from kept_prefixes
                where customers > 1

            ),

            set_customers as (

                select
                    set_id,
                    root,
                    user_ids,
                    is_kept,
                    is_writer,
                    row_number() over (partition by root order by set_id) as touch_order
                from evaluated_members
                where member_order = root_order

            ),

            customer_touches as (

                select
                    root,
                    min(case when touch_order = 1 then set_id end) as first_set_id,
                    min(case when touch_order = 2 then set_id end) as second_set_id
                from set_customers
                group by root

            ),

            kept_customers as (

                select
                    s.set_id,
                    s.root,
                    t.second_set_id,
                    s.user_ids = 0 and t.first_set_id = s.set_id as is_new
                from set_customers as s
                inner join customer_touches as t on t.root = s.root
                where s.is_writer and s.is_kept

            ),

            {#- a writer "absorbs" when all but at most one kept customer (its hub) are new
                and user-free -#}
            writers as (

                select
                    set_id,
                    sum(case when is_new then 0 else 1 end) <= 1 as is_absorbing,
                    coalesce(max(case when not is_new then root end), min(root)) as hub
                from kept_customers
                group by set_id

            ),

            writes as (

                select
                    k.set_id,
                    k.root,
                    k.second_set_id,
                    w.is_absorbing,
                    w.hub,
                    w.is_absorbing and k.root <> w.hub as is_absorbed
                from kept_customers as k
                inner join writers as w on w.set_id = k.set_id

            ),

            absorption_leaks as (

                select set_id, min(second_set_id) as leak_set_id
                from writes
                where is_absorbed
                group by set_id

            ),

            customer_writes as (

                select
                    w.root,
                    min(case when not w.is_absorbing then w.set_id end) as first_merging_set_id,
                    min(case when w.is_absorbed then w.set_id end) as absorbing_set_id,
                    min(case when w.is_absorbing and w.root = w.hub then l.leak_set_id end)
                        as hub_leak_set_id
                from writes as w
                left join absorption_leaks as l on l.set_id = w.set_id
                group by w.root

            ),

            blocked_sets as (

                select distinct s.set_id
                from set_customers as s
                inner join customer_touches as t on t.root = s.root
                left join writers as w on w.set_id = s.set_id
                left join customer_writes as c on c.root = s.root
                where c.first_merging_set_id < s.set_id
                    or c.absorbing_set_id < s.set_id
                    or c.hub_leak_set_id <= s.set_id
                    or (s.is_writer and s.is_kept and not w.is_absorbing
                        and t.first_set_id < s.set_id)

            )

            select
                m.set_id,
                m.node_id,
                m.member_order,
                m.root,
                m.root_order,
                m.kept_members,
                m.is_kept,
                m.is_writer,
                w.is_absorbing,
                w.hub,
                b.set_id is not null as is_blocked
            from evaluated_members as m
            left join writers as w on w.set_id = m.set_id
            left join blocked_sets as b on b.set_id = m.set_id
        {%- endset -%}
        {%- set evaluated = cdp.identity_resolution_create("evaluated_" ~ mp.current, sql) -%}

        {%- set sql -%}
            insert into {{ w('conflicts') }}
            select
                a.set_id,
                a.node_id as set_aside_node_id,
                f.node_id as kept_node_id
            from {{ evaluated }} as a
            inner join {{ evaluated }} as f
                on f.set_id = a.set_id
                and f.member_order = 1
            where not a.is_blocked
                and a.member_order > a.kept_members
                and not a.is_kept
        {%- endset -%}
        {%- do run_query(sql) -%}

        {%- set sql -%}
            with

            committed_writes as (

                select set_id, root, is_absorbing, hub
                from {{ evaluated }}
                where not is_blocked
                    and is_writer
                    and is_kept
                    and member_order = root_order

            ),

            customer_moves as (

                select root, hub as new_root
                from committed_writes
                where is_absorbing and root <> hub
                union all
                select root, min(root) over (partition by set_id) as new_root
                from committed_writes
                where not is_absorbing

            )

            select
                r.node_id,
                coalesce(m.new_root, r.root) as root,
                r.is_user
            from {{ roots }} as r
            left join customer_moves as m on m.root = r.root
        {%- endset -%}
        {%- do cdp.identity_resolution_create("roots_" ~ (1 - mp.current), sql) -%}

        {%- set pending_sets = cdp.identity_resolution_scalar(
            "select count(*) from " ~ evaluated ~ " where is_blocked") -%}
        {%- set mp.current = 1 - mp.current -%}
        {%- set mp.rounds = mp.rounds + 1 -%}
        {%- set mp.done = (pending_sets == 0) -%}
    {%- endfor -%}
    {%- if not mp.done -%}
        {{ exceptions.raise_compiler_error("identity resolution: merge protection did not"
            ~ " finish in " ~ max_rounds ~ " rounds") }}
    {%- endif -%}
    {{- return({'rounds': mp.rounds,
                'roots': w('roots_' ~ mp.current) if mp.rounds > 0 else first_roots}) -}}
{%- endmacro %}
