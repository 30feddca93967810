{#- Every audience's condition evaluated over int_audiences__customer_features: one row per
    (audience, customer meeting its condition), with whether the customer's latest consent
    allows the audience's consent category. Customers who never stated that category count as
    var audience_consent_default (false: ad platforms require an explicit opt-in). Audience
    models and the membership history keep the rows with has_consent. -#}
{%- set audiences = cdp.audience_definitions() -%}
with

features as (

    select * from {{ ref('int_audiences__customer_features') }}

),

latest_consent as (

    select * from {{ ref('int_audiences__latest_consent') }}

),

matches as (

    {%- for audience in audiences %}

    -- {{ audience.model }}: {{ audience.condition | replace('\n', ' ') }}
    select
        '{{ audience.name }}' as audience_name,
        '{{ audience.consent_category }}' as consent_category,
        customer_id
    from features
    where ({{ audience.condition }})
    {{ 'union all' if not loop.last }}
    {%- else %}

    select
        cast(null as {{ dbt.type_string() }}) as audience_name,
        cast(null as {{ dbt.type_string() }}) as consent_category,
        cast(null as {{ dbt.type_string() }}) as customer_id
    from features
    where 1 = 0
    {%- endfor %}

),

final as (

    select
        matches.audience_name,
        matches.customer_id,
        matches.consent_category,
        latest_consent.is_granted as is_consent_granted,
        latest_consent.stated_at as consent_stated_at,
        coalesce(latest_consent.is_granted, {{ cdp.bool_var('audience_consent_default') }})
            as has_consent
    from matches
    left join latest_consent
        on latest_consent.customer_id = matches.customer_id
        and latest_consent.consent_category = matches.consent_category

)

select * from final
