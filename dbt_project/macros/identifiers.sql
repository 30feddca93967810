{#- Identifier hygiene, shared by staging, sessions and identity so every model agrees on
    what counts as an identifier. Junk values (seed `junk_identifiers`) become null. -#}

{% macro junk_identifier_values() -%}
    select lower(identifier_value) from {{ ref('junk_identifiers') }}
{%- endmacro %}

{% macro clean_identifier(expr) -%}
    case
        when nullif(trim({{ expr }}), '') is null then null
        when lower(trim({{ expr }})) in ({{ cdp.junk_identifier_values() }}) then null
        else trim({{ expr }})
    end
{%- endmacro %}

{#- Emails are stored normalised: trimmed and lower-cased; a value without "@" is not an email. -#}
{% macro normalize_email(expr) -%}
    case
        when lower(trim({{ expr }})) like '%_@_%'
            and lower(trim({{ expr }})) not in ({{ cdp.junk_identifier_values() }})
        then lower(trim({{ expr }}))
    end
{%- endmacro %}

{#- Phones as "+" and digits only; fewer than 7 digits is not a phone. -#}
{% macro normalize_phone(expr) -%}
    case
        when length({{ cdp.regexp_replace_all("coalesce(" ~ expr ~ ", '')", '[^0-9]', '') }}) >= 7
        then case when trim({{ expr }}) like '+%' then '+' else '' end
            || {{ cdp.regexp_replace_all(expr, '[^0-9]', '') }}
    end
{%- endmacro %}
