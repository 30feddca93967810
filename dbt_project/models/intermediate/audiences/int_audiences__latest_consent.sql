{#- The latest consent of every customer for each consent category audiences require: the value
    (true/false) of the customer's latest message, by event time then message id, that states
    the category in context.consent.categoryPreferences (a time more than
    future_tolerance_minutes after receivedAt counts as receivedAt). A customer with no such message has no
    row (see var audience_consent_default). Every message counts here, including those whose
    analytics consent is false: they state consent too.

    Reads stg_events__consent, where each message's categoryPreferences is kept as a small JSON
    document: the categories are open-ended keys, and the ones needed are only known from the
    audience definitions (cdp.audience_consent_categories()). -#}
{%- set categories = cdp.audience_consent_categories() -%}
with

messages as (

    select
        message_id,
        {{ cdp.audience_event_time('event_at', 'received_at') }} as event_at,
        consent_preferences
    from {{ ref('stg_events__consent') }}

),

message_customers as (

    select message_id, customer_id
    from {{ ref('int_identity__message_customers') }}

),

statements as (

    {%- for category in categories %}

    select
        message_customers.customer_id,
        '{{ category }}' as consent_category,
        messages.message_id,
        messages.event_at,
        {{ cdp.json_bool('messages.consent_preferences', cdp.consent_category_path(category, '$')) }}
            as is_granted
    from messages
    inner join message_customers on message_customers.message_id = messages.message_id
    {{ 'union all' if not loop.last }}
    {%- endfor %}

),

ranked as (

    select
        *,
        row_number() over (
            partition by customer_id, consent_category
            order by event_at desc, message_id desc
        ) as recency
    from statements
    where is_granted is not null

)

select
    customer_id,
    consent_category,
    is_granted,
    event_at as stated_at,
    message_id
from ranked
where recency = 1
