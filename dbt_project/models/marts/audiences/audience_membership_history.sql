{#- Who entered and who left each audience on each build: the build's members (audience
    conditions met and consent given) compared with the members as of the previous build (each
    customer's latest change in this table). Append-only and never rebuilt from scratch
    (full_refresh: false): it is the record of past builds and cannot be recomputed. Erasure
    (cdp forget) deletes an erased customer's rows. An audience removed from the project
    records its members as left. -#}
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
with

current_members as (

    select audience_name, customer_id
    from {{ ref('int_audiences__members') }}
    where has_consent

),

{% if is_incremental() %}

latest_changes as (

    select
        audience_name,
        customer_id,
        change,
        row_number() over (
            partition by audience_name, customer_id
            order by built_at desc
        ) as recency
    from {{ this }}

),

previous_members as (

    select audience_name, customer_id
    from latest_changes
    where recency = 1 and change = 'entered'

),

{% else %}

previous_members as (

    select audience_name, customer_id
    from current_members
    where 1 = 0

),

{% endif %}

entered as (

    select current_members.audience_name, current_members.customer_id
    from current_members
    left join previous_members
        on previous_members.audience_name = current_members.audience_name
        and previous_members.customer_id = current_members.customer_id
    where previous_members.customer_id is null

),

exited as (

    select previous_members.audience_name, previous_members.customer_id
    from previous_members
    left join current_members
        on current_members.audience_name = previous_members.audience_name
        and current_members.customer_id = previous_members.customer_id
    where current_members.customer_id is null

),

changes as (

    select audience_name, customer_id, 'entered' as change from entered
    union all
    select audience_name, customer_id, 'left' as change from exited

)

select
    {{ cdp.audience_build_time() }} as built_at,
    audience_name,
    customer_id,
    change
from changes
