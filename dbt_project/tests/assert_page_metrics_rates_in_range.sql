-- Rates are shares: bounce_rate, exit_rate and conversion_rate lie in [0, 1]; the counts they
-- divide are ordered (bounces, conversions <= entrances <= page_views; exits <= page_views).
select *
from {{ ref('page_metrics_daily') }}
where not (
    coalesce(bounce_rate between 0 and 1, entrances = 0)
    and coalesce(conversion_rate between 0 and 1, entrances = 0)
    and exit_rate between 0 and 1
    and entrances <= page_views
    and exits <= page_views
    and bounces <= entrances
    and conversions <= entrances
    and unique_visitors <= page_views
)
