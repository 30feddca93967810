{#- Customer traits with a declared survivorship rule each (see the YAML):
    latest non-null by event time for profile traits, first non-null for first-touch traits. -#}
with

identifies as (

    select * from {{ ref('stg_events__identifies') }}
    where analytics_consent is null or analytics_consent

),

message_customers as (

    select * from {{ ref('int_identity__message_customers') }}

),

traits as (

    select
        mc.customer_id,
        i.event_at,
        i.message_id,
        i.email,
        i.phone,
        i.name,
        i.first_name,
        i.last_name,
        i.plan,
        i.company_name,
        i.account_created_at
    from identifies as i
    inner join message_customers as mc on mc.message_id = i.message_id

),

survived as (

    select
        customer_id,
        -- latest non-null
        {{ cdp.latest_non_null('name', 'event_at', 'message_id') }} as name,
        {{ cdp.latest_non_null('first_name', 'event_at', 'message_id') }} as first_name,
        {{ cdp.latest_non_null('last_name', 'event_at', 'message_id') }} as last_name,
        {{ cdp.latest_non_null('phone', 'event_at', 'message_id') }} as phone,
        {{ cdp.latest_non_null('plan', 'event_at', 'message_id') }} as plan,
        {{ cdp.latest_non_null('company_name', 'event_at', 'message_id') }} as company_name,
        -- first non-null
        {{ cdp.first_non_null('account_created_at', 'event_at', 'message_id') }}
            as account_created_at,
        max(event_at) as traits_updated_at
    from traits
    group by customer_id

)

select * from survived
