-- sessions.page_views equals the session's rows in page_views, and the session's landing and
-- exit pages are the paths of its single landing and single exit page view.
-- reported in Dagster as a check of sessions (it reads several models)
{{ config(meta={'dagster': {'ref': {'name': 'sessions'}}}) }}
with

page_view_totals as (

    select
        session_id,
        count(*) as page_views,
        count(case when is_landing then event_id end) as landings,
        count(case when is_exit then event_id end) as exits,
        max(case when is_landing then page_path end) as landing_page_path,
        max(case when is_exit then page_path end) as exit_page_path
    from {{ ref('page_views') }}
    group by session_id

)

select
    sessions.session_id,
    sessions.page_views as session_page_views,
    page_view_totals.page_views as counted_page_views,
    page_view_totals.landings,
    page_view_totals.exits
from {{ ref('sessions') }} as sessions
full outer join page_view_totals
    on sessions.session_id = page_view_totals.session_id
where sessions.session_id is null
    or sessions.page_views <> coalesce(page_view_totals.page_views, 0)
    or (sessions.page_views > 0 and (
        page_view_totals.landings <> 1
        or page_view_totals.exits <> 1
        or sessions.landing_page_path <> page_view_totals.landing_page_path
        or sessions.exit_page_path <> page_view_totals.exit_page_path
    ))
