{#- URL helpers. Regular expressions are written once here so an engine switch touches one file. -#}

{% macro regexp_replace_all(expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('regexp_replace_all', 'cdp')(expr, pattern, replacement)) }}
{%- endmacro %}
{% macro default__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}
{#- Spark: string literals take backslash escapes (so a backslash is doubled) and a group in
    the replacement is $1, not \\1. -#}
{% macro spark__regexp_replace_all(expr, pattern, replacement) -%}
    regexp_replace({{ expr }}, '{{ pattern | replace('\\', '\\\\') }}', '{{ modules.re.sub('\\\\([0-9])', '$\\1', replacement) }}')
{%- endmacro %}

{#- Host of a URL, lower-case, without a leading "www.". -#}
{% macro url_host(url) -%}
    nullif(lower({{ cdp.regexp_replace_all(
        "regexp_extract(" ~ url ~ ", '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#:]+)', 1)", '^www[.]', '') }}), '')
{%- endmacro %}

{#- A query parameter of a URL (raw, not percent-decoded), null when absent or empty. -#}
{% macro url_param(url, name) -%}
    nullif(regexp_extract({{ url }}, '[?&]{{ name }}=([^&#]*)', 1), '')
{%- endmacro %}

{#- Normalised page path: the path of the page (or of its URL), without query or fragment,
    without a trailing slash except for the root. -#}
{% macro normalize_path(path, url) -%}
    coalesce(nullif(
        {{ cdp.regexp_replace_all(
            "regexp_extract(coalesce(" ~ path ~ ", regexp_extract(" ~ url ~ ", '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*([^?#]*)', 1)), '^([^?#]*)', 1)",
            '(.)/+$', '\\1') }},
    ''), '/')
{%- endmacro %}
