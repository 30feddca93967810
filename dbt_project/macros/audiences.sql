{#- Audiences: each is a model `audience__<name>` whose YAML declares
    `config: meta: audience: {condition, consent_category, destinations, traits}`.
    The SQL file of an audience is one line, `{{ cdp.audience() }}`. The conditions of every
    audience are evaluated together in int_audiences__members, over the per-customer features
    of int_audiences__customer_features; see the README section "Audiences and activation". -#}

{#- Every audience defined in the project, sorted by name: a list of dicts with name, model,
    condition, consent_category, destinations. Empty while dbt parses (the graph is only
    complete at execution). Raises a compiler error naming the model for a bad definition. -#}
{% macro audience_definitions() -%}
    {%- set audiences = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values()
                | selectattr('resource_type', 'equalto', 'model')
                | selectattr('package_name', 'equalto', project_name)
                | sort(attribute='name') -%}
            {%- set meta = node.config.get('meta') or node.get('meta') or {} -%}
            {%- if meta.get('audience') is not none -%}
                {%- do audiences.append(cdp.audience_definition(node.name, meta.get('audience'))) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(audiences) }}
{%- endmacro %}

{% macro audience_definition(model_name, spec) -%}
    {%- if not model_name.startswith('audience__') -%}
        {{ exceptions.raise_compiler_error(
            model_name ~ ": a model with meta.audience must be named audience__<name>") }}
    {%- endif -%}
    {%- set name = model_name[10:] -%}
    {%- if not modules.re.match('^[a-z][a-z0-9_]*$', name) -%}
        {{ exceptions.raise_compiler_error(
            model_name ~ ": an audience name is lower-case letters, digits and _") }}
    {%- endif -%}
    {%- if spec is not mapping -%}
        {{ exceptions.raise_compiler_error(
            model_name ~ ": meta.audience must be a mapping with a condition") }}
    {%- endif -%}
    {%- set condition = (spec.get('condition') or '') | string | trim -%}
    {%- if not condition -%}
        {{ exceptions.raise_compiler_error(
            model_name ~ ": meta.audience.condition is missing (SQL over "
            ~ "int_audiences__customer_features)") }}
    {%- endif -%}
    {%- if ';' in condition -%}
        {{ exceptions.raise_compiler_error(
            model_name ~ ": meta.audience.condition must be one SQL expression (no ';')") }}
    {%- endif -%}
    {%- set category = cdp.consent_category_name(
            spec.get('consent_category') or var('audience_consent_category', 'Advertising'),
            model_name) -%}
    {%- set destinations = spec.get('destinations') or [] -%}
    {%- if destinations is string -%}{%- set destinations = [destinations] -%}{%- endif -%}
    {%- for destination in destinations -%}
        {%- if not modules.re.match('^[A-Za-z0-9][A-Za-z0-9_.-]*$', destination | string) -%}
            {{ exceptions.raise_compiler_error(
                model_name ~ ": destination " ~ destination ~ " is not a folder name "
                ~ "(letters, digits, _ . -)") }}
        {%- endif -%}
    {%- endfor -%}
    {{ return({
        'name': name,
        'model': model_name,
        'condition': condition,
        'consent_category': category,
        'destinations': destinations,
    }) }}
{%- endmacro %}

{#- A consent category as written in context.consent.categoryPreferences (checked, since it
    becomes part of a JSON path and a string literal). -#}
{% macro consent_category_name(category, model_name='') -%}
    {%- set category = category | string | trim -%}
    {%- if not modules.re.match('^[A-Za-z0-9_][A-Za-z0-9_ -]*$', category) -%}
        {{ exceptions.raise_compiler_error(
            model_name ~ ": consent category '" ~ category ~ "' must be letters, digits, "
            ~ "spaces, _ or -") }}
    {%- endif -%}
    {{ return(category) }}
{%- endmacro %}

{#- The consent categories int_audiences__latest_consent extracts: the default category (var
    audience_consent_category) and every category an audience requires. -#}
{% macro audience_consent_categories() -%}
    {%- set categories = [cdp.consent_category_name(
            var('audience_consent_category', 'Advertising'), 'var audience_consent_category')] -%}
    {%- for audience in cdp.audience_definitions() -%}
        {%- if audience.consent_category not in categories -%}
            {%- do categories.append(audience.consent_category) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(categories | sort) }}
{%- endmacro %}

{#- JSON path of a consent category in a Segment message. -#}
{% macro consent_category_path(category, root='$.context.consent.categoryPreferences') -%}
    {%- if modules.re.match('^[A-Za-z_][A-Za-z0-9_]*$', category) -%}
        {{ root }}.{{ category }}
    {%- else -%}
        {{ root }}."{{ category }}"
    {%- endif -%}
{%- endmacro %}

{#- A dbt var as SQL true/false ("true", "yes", "1", true all count as true). -#}
{% macro bool_var(name, default=false) -%}
    {%- set value = var(name, default) -%}
    {{- 'true' if (value | string | lower) in ('true', 'yes', 'on', '1') else 'false' -}}
{%- endmacro %}

{#- The time of this dbt invocation (run_started_at, UTC): the build time that the membership
    history and audience sizes record. The same value in every model of one `dbt build`. -#}
{% macro audience_build_time() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#- An event time as audiences use it: clamped to receivedAt when it is more than var
    future_tolerance_minutes after it (a device clock in the future), as the sessions do, so one
    such event cannot move the newest event time and empty every window. -#}
{% macro audience_event_time(event_at='event_at', received_at='received_at') -%}
    case
        when {{ event_at }} > {{ dbt.dateadd('minute', var('future_tolerance_minutes', 10) | int,
                                             received_at) }}
            then {{ received_at }}
        else {{ event_at }}
    end
{%- endmacro %}

{#- A map from key to value over the rows of a group where `condition` holds (keys must not be
    null). Conditions read it as `map_column['key']`, null for an absent key. -#}
{% macro map_agg(key, value, condition='true') -%}
    {{ return(adapter.dispatch('map_agg', 'cdp')(key, value, condition)) }}
{%- endmacro %}

{#- Entries sorted by key (one key per group), so equal data gives equal maps. One unordered
    list sorted afterwards instead of two ordered list aggregates per map:
    int_audiences__customer_features 24 s -> 19-20 s at 10 M events, identical rows. -#}
{% macro default__map_agg(key, value, condition) -%}
    map_from_entries(list_sort(
        list(struct_pack(k := {{ key }}, v := {{ value }})) filter (where {{ condition }})
    ))
{%- endmacro %}

{% macro spark__map_agg(key, value, condition) -%}
    map_from_entries(collect_list(case when {{ condition }} then struct({{ key }}, {{ value }}) end))
{%- endmacro %}

{#- The body of an audience model `audience__<name>` (its SQL file is just `{{ cdp.audience() }}`):
    the customers who meet the condition and whose latest consent allows the audience's
    category, with the time they entered the current membership spell (from
    audience_membership_history, which this build has already updated). -#}
{% macro audience() -%}
    {%- if not model.name.startswith('audience__') -%}
        {{ exceptions.raise_compiler_error(
            model.name ~ ": cdp.audience() is for models named audience__<name>") }}
    {%- endif -%}
    {%- set name = model.name[10:] -%}
    {%- if execute -%}
        {%- set meta = model.config.get('meta') or model.get('meta') or {} -%}
        {%- if meta.get('audience') is none -%}
            {{ exceptions.raise_compiler_error(
                model.name ~ ": no config.meta.audience in its YAML (condition, "
                ~ "consent_category, destinations)") }}
        {%- endif -%}
        {%- do cdp.audience_definition(model.name, meta.get('audience')) -%}
    {%- endif %}
with

members as (

    select customer_id
    from {{ ref('int_audiences__members') }}
    where audience_name = '{{ name }}'
        and has_consent

),

entries as (

    select
        customer_id,
        max(built_at) as entered_at
    from {{ ref('audience_membership_history') }}
    where audience_name = '{{ name }}'
        and change = 'entered'
    group by customer_id

),

final as (

    select
        members.customer_id,
        coalesce(entries.entered_at, {{ cdp.audience_build_time() }}) as entered_at
    from members
    left join entries on entries.customer_id = members.customer_id

)

select
    customer_id,
    entered_at
from final
{%- endmacro %}
