{#- customer_360 for analysts who must not see personal data: every direct identifier replaced
    by a keyed hash, sha256(key || value), with the key read from privacy.pseudonymisation_key
    (written by the ingestion asset from the privacy salt) so it never lands in compiled SQL or
    the repo. The same value always gives the same hash, so counts, distinct counts and joins
    between pseudonymised columns still work. Columns are an allow-list: a column added to
    customer_360 is not exposed here until it is added below. -#}
with

customers as (

    select * from {{ ref('customer_360') }}

),

pseudonymisation_key as (

    select key from {{ source('privacy', 'pseudonymisation_key') }}

),

final as (

    select
        -- ids
        customers.customer_id,
        {{ cdp.keyed_hash('pseudonymisation_key.key', 'customers.user_id') }} as user_id,
        {{ cdp.keyed_hash('pseudonymisation_key.key', 'customers.email') }} as email,
        -- traits (personal ones hashed)
        {{ cdp.keyed_hash('pseudonymisation_key.key', 'customers.name') }} as name,
        {{ cdp.keyed_hash('pseudonymisation_key.key', 'customers.first_name') }} as first_name,
        {{ cdp.keyed_hash('pseudonymisation_key.key', 'customers.last_name') }} as last_name,
        {{ cdp.keyed_hash('pseudonymisation_key.key', 'customers.phone') }} as phone,
        customers.plan,
        customers.company_name,
        customers.account_created_at,
        -- identifiers
        customers.identifiers,
        customers.anonymous_ids,
        customers.emails,
        -- activity
        customers.first_seen_at,
        customers.last_seen_at,
        customers.days_since_last_seen,
        customers.sessions,
        customers.views,
        customers.page_views,
        customers.screen_views,
        customers.track_events,
        customers.converting_sessions,
        -- apps
        customers.app_sessions,
        customers.platforms,
        customers.last_app_version,
        -- commerce
        customers.orders,
        customers.revenue,
        customers.first_order_at,
        customers.last_order_at,
        -- attribution
        customers.first_touch_source,
        customers.first_touch_medium,
        customers.first_touch_campaign,
        customers.last_touch_source,
        customers.last_touch_medium,
        customers.last_touch_campaign
    from customers
    cross join pseudonymisation_key

)

select * from final
