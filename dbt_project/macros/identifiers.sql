{#- Identifier hygiene, shared by staging, sessions and identity so every model agrees on
    what counts as an identifier. Junk values (seed `junk_identifiers`) become null.
    Python twins: orchestration/identifiers.py (identity_id, identity_email, identity_phone_key,
    and identity_phone_key_sql for privacy's sweep). tests/unit/test_identifiers.py renders
    these macros and asserts they equal the twins on tricky values: change both together. -#}

{% macro junk_identifier_values() -%}
    select lower(identifier_value) from {{ ref('junk_identifiers') }}
{%- endmacro %}

{#- Ids trimmed; empty or junk is null. Twin: identifiers.identity_id. -#}
{% macro clean_identifier(expr) -%}
    case
        when nullif(trim({{ expr }}), '') is null then null
        when lower(trim({{ expr }})) in ({{ cdp.junk_identifier_values() }}) then null
        else trim({{ expr }})
    end
{%- endmacro %}

{#- Emails are stored normalised: trimmed and lower-cased; a value without "@" is not an email.
    Twin: identifiers.identity_email. -#}
{% macro normalize_email(expr) -%}
    case
        when lower(trim({{ expr }})) like '%_@_%'
            and lower(trim({{ expr }})) not in ({{ cdp.junk_identifier_values() }})
        then lower(trim({{ expr }}))
    end
{%- endmacro %}

{#- Phones as "+" and digits only; fewer than 7 digits is not a phone.
    Twin: identifiers.identity_phone_key (and identity_phone_key_sql). -#}
{% macro normalize_phone(expr) -%}
    case
        when length({{ cdp.regexp_replace_all("coalesce(" ~ expr ~ ", '')", '[^0-9]', '') }}) >= 7
        then case when trim({{ expr }}) like '+%' then '+' else '' end
            || {{ cdp.regexp_replace_all(expr, '[^0-9]', '') }}
    end
{%- endmacro %}
