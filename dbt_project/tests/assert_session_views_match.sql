-- sessions.page_views and screen_views equal the session's rows in page_views and
-- screen_views; a session with views has exactly one landing and one exit view (a page or a
-- screen), and its landing and exit page or screen are theirs.
-- reported in Dagster as a check of sessions (it reads several models)
{{ config(meta={'dagster': {'ref': {'name': 'sessions'}}}) }}
with

views as (

    select
        session_id,
        event_id,
        is_landing,
        is_exit,
        page_path,
        cast(null as {{ dbt.type_string() }}) as screen_name
    from {{ ref('page_views') }}
    union all
    select
        session_id,
        event_id,
        is_landing,
        is_exit,
        cast(null as {{ dbt.type_string() }}) as page_path,
        screen_name
    from {{ ref('screen_views') }}

),

view_totals as (

    select
        session_id,
        count(page_path) as page_views,
        count(screen_name) as screen_views,
        count(case when is_landing then event_id end) as landings,
        count(case when is_exit then event_id end) as exits,
        max(case when is_landing then page_path end) as landing_page_path,
        max(case when is_exit then page_path end) as exit_page_path,
        max(case when is_landing then screen_name end) as landing_screen_name,
        max(case when is_exit then screen_name end) as exit_screen_name
    from views
    group by session_id

)

select
    sessions.session_id,
    sessions.page_views as session_page_views,
    view_totals.page_views as counted_page_views,
    sessions.screen_views as session_screen_views,
    view_totals.screen_views as counted_screen_views,
    view_totals.landings,
    view_totals.exits
from {{ ref('sessions') }} as sessions
full outer join view_totals
    on sessions.session_id = view_totals.session_id
where sessions.session_id is null
    or sessions.page_views <> coalesce(view_totals.page_views, 0)
    or sessions.screen_views <> coalesce(view_totals.screen_views, 0)
    or (sessions.views > 0 and (
        view_totals.landings <> 1
        or view_totals.exits <> 1
        or sessions.landing_page_path is distinct from view_totals.landing_page_path
        or sessions.exit_page_path is distinct from view_totals.exit_page_path
        or sessions.landing_screen_name is distinct from view_totals.landing_screen_name
        or sessions.exit_screen_name is distinct from view_totals.exit_screen_name
    ))
