{#- Columns every Segment message carries, typed and cleaned; shared by the staging models. -#}
{% macro common_event_columns(payload='payload') -%}
        -- ids
        message_id,
        {{ cdp.clean_identifier(cdp.json_str(payload, '$.anonymousId')) }} as anonymous_id,
        {{ cdp.clean_identifier(cdp.json_str(payload, '$.userId')) }} as user_id,
        {{ cdp.json_text(payload, '$.context.sessionId') }} as tracker_session_id,
        -- consent: true / false / null (not stated) for the analytics category
        {{ cdp.json_bool(payload, "$.context.consent.categoryPreferences." ~ var('analytics_consent_category')) }}
            as analytics_consent,
        -- context
        {{ cdp.json_text(payload, '$.context.ip') }} as ip,
        {{ cdp.json_text(payload, '$.context.userAgent') }} as user_agent,
        {{ cdp.json_text(payload, '$.context.locale') }} as locale,
        {{ cdp.json_text(payload, '$.context.library.name') }} as library_name,
        -- timestamps
        event_at,
        {{ cdp.json_timestamp(payload, '$.receivedAt') }} as received_at,
        received_date,
        -- when the received day was loaded (raw.load_log): the incremental watermark
        loaded_at
{%- endmacro %}

{#- Page context and campaign columns (page, track and screen messages). -#}
{% macro page_context_columns(payload='payload') -%}
        {{ cdp.json_text(payload, '$.context.page.url') }} as page_url,
        coalesce(
            {{ cdp.json_text(payload, '$.context.page.path') }},
            {{ cdp.json_text(payload, '$.properties.path') }}
        ) as page_path_raw,
        coalesce(
            {{ cdp.json_text(payload, '$.context.page.title') }},
            {{ cdp.json_text(payload, '$.properties.title') }}
        ) as page_title,
        coalesce(
            {{ cdp.json_text(payload, '$.context.page.referrer') }},
            {{ cdp.json_text(payload, '$.properties.referrer') }}
        ) as referrer,
        {{ cdp.json_text(payload, '$.context.page.search') }} as page_search,
        -- campaign as the tracker parsed it
        {{ cdp.json_text(payload, '$.context.campaign.source') }} as campaign_source,
        {{ cdp.json_text(payload, '$.context.campaign.medium') }} as campaign_medium,
        {{ cdp.json_text(payload, '$.context.campaign.name') }} as campaign_name,
        {{ cdp.json_text(payload, '$.context.campaign.term') }} as campaign_term,
        {{ cdp.json_text(payload, '$.context.campaign.content') }} as campaign_content
{%- endmacro %}

{#- Mobile context (screen and track messages of Segment's mobile libraries): the app, the
    device, its operating system and network, the dimensions app sessions are sliced by. -#}
{% macro app_context_columns(payload='payload') -%}
        {{ cdp.json_text(payload, '$.context.app.name') }} as app_name,
        {{ cdp.json_text(payload, '$.context.app.version') }} as app_version,
        {{ cdp.json_text(payload, '$.context.app.build') }} as app_build,
        {{ cdp.json_text(payload, '$.context.device.type') }} as device_type,
        {{ cdp.json_text(payload, '$.context.device.model') }} as device_model,
        {{ cdp.json_text(payload, '$.context.device.manufacturer') }} as device_manufacturer,
        {{ cdp.json_text(payload, '$.context.os.name') }} as os_name,
        {{ cdp.json_text(payload, '$.context.os.version') }} as os_version,
        {{ cdp.json_text(payload, '$.context.network.carrier') }} as network_carrier,
        {{ cdp.json_bool(payload, '$.context.network.wifi') }} as network_wifi,
        {{ cdp.json_bool(payload, '$.context.network.cellular') }} as network_cellular
{%- endmacro %}

{#- The rows a staging model reads: raw.events of the received days to process (all days on a
    full build, see macros/incremental.sql), of one message type when given, with the day's load
    stamp and the paths a JSON reader registered (render the columns that use `reader` first). -#}
{% macro staging_source(message_type=none, reader=none) -%}
    select
        events.*,
        load_stamp.loaded_at
        {{- cdp.json_reader_fields(reader) if reader is not none }}
    from {{ source('raw', 'events') }} as events
    {{ cdp.join_load_stamp('events') }}
    where {{ cdp.days_to_process('events.received_date') }}
    {%- if message_type %}
        and events.type = '{{ message_type }}'
    {%- endif %}
{%- endmacro %}

{#- The message's email and phone as sent: traits (identify), else context.traits (any type). -#}
{% macro message_email(payload='payload') -%}
    coalesce(
            {{ cdp.json_text(payload, '$.traits.email') }},
            {{ cdp.json_text(payload, '$.context.traits.email') }}
        )
{%- endmacro %}

{% macro message_phone(payload='payload') -%}
    coalesce(
            {{ cdp.json_text(payload, '$.traits.phone') }},
            {{ cdp.json_text(payload, '$.context.traits.phone') }}
        )
{%- endmacro %}
