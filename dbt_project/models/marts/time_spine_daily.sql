{#- One row per calendar day from var time_spine_start to a year after the build: the MetricFlow
    time spine (the semantic layer joins metrics to it by day), also a date dimension for BI. -#}
with

days as (

    {{ dbt.date_spine(
        'day',
        "cast('" ~ var('time_spine_start', '2015-01-01') ~ "' as date)",
        "cast(" ~ dbt.dateadd('day', 366, 'current_date') ~ " as date)"
    ) }}

),

final as (

    select cast(date_day as date) as date_day
    from days

)

select date_day from final
