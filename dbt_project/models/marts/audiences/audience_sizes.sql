{#- One row per audience per build: members, who entered and left on that build, the members
    erased (cdp forget) since the previous build, and who met the condition but was left out
    for lack of consent. A size change adds up: members = previous members + entered - exited
    - erased (an erased customer's history rows are deleted, so they leave without an exit;
    the erasure counts them in privacy.erased_memberships). Append-only, like the membership
    history it summarises (full_refresh: false). -#}
{#- The enforced contract (YAML) requires on_schema_change append_new_columns or fail: a new
    column is added, past rows keep null in it. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        full_refresh=false,
        on_schema_change='append_new_columns',
    )
}}
{%- set audiences = cdp.audience_definitions() -%}
with

audiences as (

    {%- for audience in audiences %}

    select
        '{{ audience.name }}' as audience_name,
        '{{ audience.consent_category }}' as consent_category
    {{ 'union all' if not loop.last }}
    {%- else %}

    select
        cast(null as {{ dbt.type_string() }}) as audience_name,
        cast(null as {{ dbt.type_string() }}) as consent_category
    where 1 = 0
    {%- endfor %}

),

matches as (

    select
        audience_name,
        count(case when has_consent then 1 end) as members,
        count(case when not has_consent then 1 end) as excluded_without_consent
    from {{ ref('int_audiences__members') }}
    group by audience_name

),

changes as (

    select
        audience_name,
        count(case when change = 'entered' then 1 end) as entered,
        count(case when change = 'left' then 1 end) as exited
    from {{ ref('audience_membership_history') }}
    where built_at = {{ cdp.audience_build_time() }}
    group by audience_name

),

{%- set erased_memberships = source('privacy', 'erased_memberships') %}

-- members erased since the previous build (none on the first build, or where erasure does not
-- run and the table is missing)
erasures as (

    {%- if is_incremental() and load_relation(erased_memberships) is not none %}

    select
        audience_name,
        sum(members) as erased
    from {{ erased_memberships }}
    where erased_at > (select max(built_at) from {{ this }})
    group by audience_name
    {%- else %}

    select
        cast(null as {{ dbt.type_string() }}) as audience_name,
        cast(null as {{ dbt.type_bigint() }}) as erased
    where 1 = 0
    {%- endif %}

)

select
    {{ cdp.audience_build_time() }} as built_at,
    audiences.audience_name,
    audiences.consent_category,
    coalesce(matches.members, 0) as members,
    coalesce(changes.entered, 0) as entered,
    coalesce(changes.exited, 0) as exited,
    cast(coalesce(erasures.erased, 0) as {{ dbt.type_bigint() }}) as erased,
    coalesce(matches.excluded_without_consent, 0) as excluded_without_consent
from audiences
left join matches on matches.audience_name = audiences.audience_name
left join changes on changes.audience_name = audiences.audience_name
left join erasures on erasures.audience_name = audiences.audience_name
