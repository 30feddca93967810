{%- set payload = cdp.json_reader('payload') -%}
{%- set columns -%}
        {{ cdp.common_event_columns(payload) }},

        -- identity
        {{ cdp.normalize_email(cdp.message_email(payload)) }} as email,
        {{ cdp.normalize_phone(cdp.message_phone(payload)) }} as phone,

        -- traits (strings, as sent)
        {{ cdp.json_text(payload, '$.traits.name') }} as name,
        {{ cdp.json_text(payload, '$.traits.first_name') }} as first_name,
        {{ cdp.json_text(payload, '$.traits.last_name') }} as last_name,
        {{ cdp.json_text(payload, '$.traits.plan') }} as plan,
        {{ cdp.json_text(payload, '$.traits.company.name') }} as company_name,
        {{ cdp.json_timestamp(payload, '$.traits.created_at') }} as account_created_at,
        {{ cdp.json_doc(payload, '$.traits') }} as traits
{%- endset -%}
with

source as (

    {{ cdp.staging_source('identify', payload) }}

),

renamed as (

    select
{{ columns }}

    from source

)

select * from renamed
