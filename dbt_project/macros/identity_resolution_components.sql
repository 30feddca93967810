{#- Step 3 of the SQL identity resolver (identity_resolution.sql): connected components to a
    fixed point; returns the number of rounds.

    A round gives every node the smallest label among its own and its neighbours', then the
    label of that label (pointer jumping). The labels start as the node ids, read from the
    nodes table (no table of their own), and the loop stops as soon as a round's labels are a
    fixed point: every edge has one label at both ends and every label is its own label's
    label, so another round would change nothing (it used to run that round to find out). -#}
{% macro identity_resolution_components(max_user_ids, max_rounds) -%}
    {%- set w = cdp.identity_resolution_work -%}

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
    {%- set cc = namespace(current=0, rounds=0, done=false) -%}
    {%- for _ in range(max_rounds) if not cc.done -%}
        {%- set old = w('labels_' ~ cc.current) if cc.rounds > 0
            else "(select node_id, node_id as label from " ~ w('nodes') ~ ")" -%}
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
        {%- set sql -%}
            select count(*) from (
                select e.node_a
                from {{ w('edges') }} as e
                inner join {{ new }} as a on a.node_id = e.node_a
                inner join {{ new }} as b on b.node_id = e.node_b
                where a.label <> b.label
                union all
                select l.node_id
                from {{ new }} as l
                inner join {{ new }} as j on j.node_id = l.label
                where j.label <> l.label
            ) as unsettled
        {%- endset -%}
        {%- set unsettled = cdp.identity_resolution_scalar(sql) -%}
        {%- set cc.current = 1 - cc.current -%}
        {%- set cc.rounds = cc.rounds + 1 -%}
        {%- set cc.done = (unsettled == 0) -%}
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
    {{- return(cc.rounds) -}}
{%- endmacro %}
