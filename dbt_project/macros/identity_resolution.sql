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
    of them and its post-hook, `drop_identity_resolution_work()`, drops them all. Each step
    below is a macro of its own file: identity_resolution_sets.sql (1, 2),
    identity_resolution_components.sql (3), identity_resolution_protection.sql (4) and
    identity_resolution_customers.sql (5).

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


{#- Post-hook: drop every work table (they hold identifier values), and the state of the
    Python model's incremental runs (`<model>__state`, orchestration/identity/incremental.py):
    the rows are now this model's, so a later Python build resolves everything again. -#}
{% macro drop_identity_resolution_work() -%}
    {%- if execute -%}
        {%- for step in cdp.identity_resolution_steps() -%}
            {%- do adapter.drop_relation(cdp.identity_resolution_work(step)) -%}
        {%- endfor -%}
        {%- do adapter.drop_relation(this.incorporate(
            path={"identifier": this.identifier ~ "__state"}, type="table")) -%}
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
        {%- do cdp.identity_resolution_sets(source) -%}
        {%- set component_rounds = cdp.identity_resolution_components(max_user_ids, max_rounds) -%}
        {%- set protection = cdp.identity_resolution_protection(max_user_ids, max_rounds) -%}
        {%- do cdp.identity_resolution_customers(protection.roots) -%}
        {{- log("identity resolution (sql): " ~ component_rounds ~ " component rounds, "
                ~ protection.rounds ~ " merge-protection rounds", info=true) -}}
    {%- endif -%}
{%- endmacro %}
