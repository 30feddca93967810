{%- set payload = cdp.json_reader('payload') -%}
{%- set columns -%}
        {{ cdp.common_event_columns(payload) }},

        -- event
        {{ cdp.json_text(payload, '$.event') }} as event_name,
        {{ cdp.json_doc(payload, '$.properties') }} as properties,

        -- commerce
        {{ cdp.json_text(payload, '$.properties.order_id') }} as order_id,
        coalesce(
            {{ cdp.json_number(payload, '$.properties.revenue') }},
            {{ cdp.json_number(payload, '$.properties.total') }}
        ) as revenue,
        upper({{ cdp.json_text(payload, '$.properties.currency') }}) as currency,

        -- identity carried on the message
        {{ cdp.normalize_email(cdp.json_str(payload, '$.context.traits.email')) }} as email,

        -- page the event happened on
        {{ cdp.page_context_columns(payload) }},

        -- app, device, os and network (events of Segment's mobile libraries)
        {{ cdp.app_context_columns(payload) }}
{%- endset -%}
with

source as (

    {{ cdp.staging_source('track', payload) }}

),

renamed as (

    select
{{ columns }}

    from source

),

with_path as (

    select
        *,
        case
            when page_path_raw is not null or page_url is not null
            then {{ cdp.normalize_path('page_path_raw', 'page_url') }}
        end as page_path
    from renamed

)

select * from with_path
