{%- set payload = cdp.json_reader('payload') -%}
{%- set columns -%}
        {{ cdp.common_event_columns(payload) }},

        -- screen: the name, else properties.name (Segment's mobile libraries send both)
        coalesce(
            {{ cdp.json_text(payload, '$.name') }},
            {{ cdp.json_text(payload, '$.properties.name') }}
        ) as screen_name,
        {{ cdp.json_doc(payload, '$.properties') }} as properties,

        -- app, device, os and network
        {{ cdp.app_context_columns(payload) }},

        -- campaign as the app's deep link sent it
        {{ cdp.json_text(payload, '$.context.campaign.source') }} as campaign_source,
        {{ cdp.json_text(payload, '$.context.campaign.medium') }} as campaign_medium,
        {{ cdp.json_text(payload, '$.context.campaign.name') }} as campaign_name,
        {{ cdp.json_text(payload, '$.context.campaign.term') }} as campaign_term,
        {{ cdp.json_text(payload, '$.context.campaign.content') }} as campaign_content
{%- endset -%}
with

source as (

    {{ cdp.staging_source('screen', payload) }}

),

renamed as (

    select
{{ columns }}

    from source

)

select * from renamed
