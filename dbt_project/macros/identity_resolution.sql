{#- Identity resolution in portable SQL: the `sql` implementation of int_identity__resolution.

    Same rules and the same output as the `python` implementation (the default on DuckDB:
    orchestration/identity/warehouse.py numbers the input, orchestration/identity/resolver.py
    states the rules and resolves); selected by the var `identity_resolver` (README, Identity
    resolution).
    Written for dbt-spark, where Python models do not run: only dbt's cross-database macros and
    SQL that DuckDB and Spark SQL share (window functions, case, coalesce, least, min/max,
    create table as, insert into ... select). No recursive CTEs, no qualify, no list or struct
    functions.

    `resolve_identities_sql()` runs as the model's pre-hook. It materialises work tables next
    to the model (`<model>__w_<step>`, plain `create table as` through dbt's adapter macros)
    and loops with run_query until each step converges; the model's own select reads the last
    of them and its post-hook, `drop_identity_resolution_work()`, drops them all.

    Steps (node ids are the priority order, so "higher priority" is "smaller id"):
    1. messages ranked by (event time, message_id); identifiers numbered in priority order:
       user_id, email, anonymous_id, any other type, then value, then type.
    2. Every message becomes the set of its identifiers; sets of two or more, each at its
       earliest message (a repeated set can never change anything: see the docstring of
       orchestration/identity/resolver.py).
    3. Connected components: min-label propagation over the sets with pointer jumping, to a
       fixed point. A component holding at most `max_user_ids_per_customer` user ids can never
       trigger merge protection: its customer is final.
    4. Components holding more user ids are resolved in message order by rounds. Each round
       evaluates every pending set against the current customers exactly as the ordered
       union-find does (keep the longest priority-ordered prefix of its identifiers whose
       customers hold few enough user ids; set aside the rest; a set-aside identifier outside
       the kept customers is a conflict against the set's first identifier), then commits every
       set whose evaluation cannot be changed by an earlier pending set:
       - a set is held back when an earlier pending set merges (would keep two or more
         customers of) a customer it touches; except when that earlier set only absorbs new,
         user-free customers (touched by no earlier set) into one "hub" customer, this set
         touches only the hub, and no set between them touches the absorbed customers;
       - a set that would merge customers other than by such an absorption is held back when
         an earlier pending set touches one of them.
       Committed sets change only customers no earlier pending set reads, so committing them
       ahead of the held-back ones gives exactly the sequential result; at least the earliest
       pending set of every component commits in each round. Rounds needed: the longest chain
       of sets in one component where each must wait for the previous (one per new device or
       email of a customer that grows after a conflict, typically a handful).
    5. Anchor of a customer: its identifier with the earliest first_seen_at, ties by priority;
       customer_id = 'c_' || first 20 hex of sha256(anchor_type || ':' || anchor_value). -#}


{#- Which implementation builds int_identity__resolution: `python` or `sql`. The var
    `identity_resolver` defaults (dbt_project.yml) to `sql` on Spark and `python` elsewhere. -#}
{% macro identity_resolver() -%}
    {%- set chosen = var('identity_resolver', 'sql' if target.type == 'spark' else 'python') -%}
    {%- set chosen = (chosen | string | trim | lower) -%}
    {%- if chosen not in ('python', 'sql') -%}
        {{ exceptions.raise_compiler_error(
            "var identity_resolver must be 'python' or 'sql', not '" ~ chosen ~ "'") }}
    {%- endif -%}
    {{- return(chosen) -}}
{%- endmacro %}


{#- A work table of the SQL resolver: `<model>__w_<step>` in the model's schema. -#}
{% macro identity_resolution_work(step) -%}
    {%- set identifier = this.identifier ~ "__w_" ~ step -%}
    {{- return(this.incorporate(path={"identifier": identifier}, type="table")) -}}
{%- endmacro %}


{% macro identity_resolution_create(step, sql) -%}
    {%- set relation = cdp.identity_resolution_work(step) -%}
    {%- do adapter.drop_relation(relation) -%}
    {%- do run_query(create_table_as(False, relation, sql)) -%}
    {{- return(relation) -}}
{%- endmacro %}


{% macro identity_resolution_scalar(sql) -%}
    {%- set value = run_query(sql).columns[0].values()[0] -%}
    {{- return(0 if value is none else (value | int)) -}}
{%- endmacro %}


{% macro identity_resolution_steps() -%}
    {{- return(["messages", "nodes", "memberships", "sets", "edges", "labels_0", "labels_1",
                "components", "roots_0", "roots_1", "evaluated_0", "evaluated_1", "conflicts",
                "node_customers"]) -}}
{%- endmacro %}


{#- Post-hook: drop every work table (they hold identifier values). -#}
{% macro drop_identity_resolution_work() -%}
    {%- if execute -%}
        {%- for step in cdp.identity_resolution_steps() -%}
            {%- do adapter.drop_relation(cdp.identity_resolution_work(step)) -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}


{#- Type priority: user_id 0, email 1, anonymous_id 2, any other type 3. -#}
{% macro identifier_type_priority(identifier_type) -%}
    case {{ identifier_type }}
        when 'user_id' then 0
        when 'email' then 1
        when 'anonymous_id' then 2
        else 3
    end
{%- endmacro %}


{#- Pre-hook: resolve identities into the work tables; the model selects from them. -#}
{% macro resolve_identities_sql(max_rounds=10000) -%}
    {%- if execute -%}
        {%- set source = ref('int_identity__message_identifiers') -%}
        {%- set max_user_ids = var('max_user_ids_per_customer') | int -%}
        {%- if max_user_ids < 1 -%}
            {{ exceptions.raise_compiler_error("max_user_ids_per_customer must be >= 1") }}
        {%- endif -%}
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

        {#- 3. connected components -#}
        {%- set sql -%}
            select
                f.node_id as node_a,
                o.node_id as node_b
            from {{ w('sets') }} as f
            inner join {{ w('sets') }} as o
                on o.set_id = f.set_id
                and o.member_order > 1
            where f.member_order = 1
        {%- endset -%}
        {%- do cdp.identity_resolution_create("edges", sql) -%}
        {%- do cdp.identity_resolution_create("labels_0",
            "select node_id, node_id as label from " ~ w('nodes')) -%}
        {%- set cc = namespace(current=0, rounds=0, done=false) -%}
        {%- for _ in range(max_rounds) if not cc.done -%}
            {%- set old = w('labels_' ~ cc.current) -%}
            {%- set sql -%}
                with

                candidates as (

                    select node_id, label from {{ old }}
                    union all
                    select e.node_a as node_id, l.label
                    from {{ w('edges') }} as e
                    inner join {{ old }} as l on l.node_id = e.node_b
                    union all
                    select e.node_b as node_id, l.label
                    from {{ w('edges') }} as e
                    inner join {{ old }} as l on l.node_id = e.node_a

                ),

                smallest as (

                    select node_id, min(label) as label
                    from candidates
                    group by node_id

                )

                select
                    s.node_id,
                    least(s.label, coalesce(j.label, s.label)) as label
                from smallest as s
                left join smallest as j
                    on j.node_id = s.label
            {%- endset -%}
            {%- set new = cdp.identity_resolution_create("labels_" ~ (1 - cc.current), sql) -%}
            {%- set changed = cdp.identity_resolution_scalar(
                "select count(*) from " ~ new ~ " as n inner join " ~ old
                ~ " as o on o.node_id = n.node_id where n.label <> o.label") -%}
            {%- set cc.current = 1 - cc.current -%}
            {%- set cc.rounds = cc.rounds + 1 -%}
            {%- set cc.done = (changed == 0) -%}
        {%- endfor -%}
        {%- if not cc.done -%}
            {{ exceptions.raise_compiler_error("identity resolution: components did not converge"
                ~ " in " ~ max_rounds ~ " rounds") }}
        {%- endif -%}

        {%- set sql -%}
            with

            component_users as (

                select l.label as component, sum(n.is_user) as user_ids
                from {{ w('labels_' ~ cc.current) }} as l
                inner join {{ w('nodes') }} as n on n.node_id = l.node_id
                group by l.label

            )

            select
                l.node_id,
                l.label as component,
                u.user_ids > {{ max_user_ids }} as is_ordered
            from {{ w('labels_' ~ cc.current) }} as l
            inner join component_users as u on u.component = l.label
        {%- endset -%}
        {%- do cdp.identity_resolution_create("components", sql) -%}

        {#- 4. merge protection, in message order, in the components with too many user ids -#}
        {%- set sql -%}
            select c.node_id, c.node_id as root, n.is_user
            from {{ w('components') }} as c
            inner join {{ w('nodes') }} as n on n.node_id = c.node_id
            where c.is_ordered
        {%- endset -%}
        {%- do cdp.identity_resolution_create("roots_0", sql) -%}
        {%- set sql -%}
            select s.set_id, s.node_id, s.member_order, true as is_blocked
            from {{ w('sets') }} as s
            inner join {{ w('components') }} as c on c.node_id = s.node_id
            where c.is_ordered
        {%- endset -%}
        {%- do cdp.identity_resolution_create("evaluated_1", sql) -%}
        {%- set sql -%}
            select set_id, node_id as set_aside_node_id, node_id as kept_node_id
            from {{ w('sets') }}
            where 1 = 0
        {%- endset -%}
        {%- do cdp.identity_resolution_create("conflicts", sql) -%}

        {%- set ordered_sets = cdp.identity_resolution_scalar(
            "select count(*) from " ~ w('evaluated_1')) -%}
        {%- set mp = namespace(current=0, rounds=0, done=(ordered_sets == 0)) -%}
        {%- for _ in range(max_rounds) if not mp.done -%}
            {%- set roots = w('roots_' ~ mp.current) -%}
            {%- set pending = w('evaluated_' ~ (1 - mp.current)) -%}
            {%- set sql -%}
                with

                root_users as (

                    select root, sum(is_user) as user_ids
                    from {{ roots }}
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

        {#- 5. customers, anchors and node statistics -#}
        {%- set sql -%}
            with

            customers as (

                select
                    c.node_id,
                    coalesce(r.root, c.component) as customer
                from {{ w('components') }} as c
                left join {{ w('roots_' ~ mp.current) }} as r on r.node_id = c.node_id

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
        {{- log("identity resolution (sql): " ~ cc.rounds ~ " component rounds, "
                ~ mp.rounds ~ " merge-protection rounds", info=false) -}}
    {%- endif -%}
{%- endmacro %}
