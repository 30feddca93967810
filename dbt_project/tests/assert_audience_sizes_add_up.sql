{#- Reconciliation of audience_sizes: after the latest build, each audience's members are its
    member rows (the consenting rows of int_audiences__members, which are the rows of
    marts.audience__<name>, and the customers whose latest change in
    audience_membership_history is `entered`); and from one build to the next, members =
    previous members + entered - exited - erased. Rows built before the erased column existed
    (erased null) and an audience's first build are not compared with the one before. -#}
{#- reported in Dagster as a check of audience_sizes (it reads several models) -#}
{{ config(meta={'dagster': {'ref': {'name': 'audience_sizes'}}}) }}
with

builds as (

    select
        built_at,
        row_number() over (order by built_at) as build_number
    from (select distinct built_at from {{ ref('audience_sizes') }}) as built

),

sizes as (

    select
        audience_sizes.audience_name,
        audience_sizes.built_at,
        builds.build_number,
        audience_sizes.members,
        audience_sizes.entered,
        audience_sizes.exited,
        audience_sizes.erased
    from {{ ref('audience_sizes') }} as audience_sizes
    inner join builds
        on audience_sizes.built_at = builds.built_at

),

size_changes as (

    select
        current_build.audience_name,
        current_build.built_at,
        'size change' as failed_check,
        previous_build.members + current_build.entered - current_build.exited
        - current_build.erased as expected_members,
        current_build.members
    from sizes as current_build
    inner join sizes as previous_build
        on current_build.audience_name = previous_build.audience_name
        and current_build.build_number = previous_build.build_number + 1
    where current_build.erased is not null
        and current_build.members <> previous_build.members + current_build.entered
        - current_build.exited - current_build.erased

),

latest_sizes as (

    select sizes.audience_name, sizes.built_at, sizes.members
    from sizes
    where sizes.build_number = (select max(builds.build_number) from builds)

),

member_rows as (

    select audience_name, count(*) as members
    from {{ ref('int_audiences__members') }}
    where has_consent
    group by audience_name

),

history_members as (

    select audience_name, count(*) as members
    from (
        select
            audience_name,
            change,
            row_number() over (
                partition by audience_name, customer_id order by built_at desc
            ) as recency
        from {{ ref('audience_membership_history') }}
    ) as changes
    where recency = 1 and change = 'entered'
    group by audience_name

),

member_counts as (

    select
        latest_sizes.audience_name,
        latest_sizes.built_at,
        'members' as failed_check,
        coalesce(member_rows.members, 0) as expected_members,
        latest_sizes.members
    from latest_sizes
    left join member_rows
        on latest_sizes.audience_name = member_rows.audience_name
    left join history_members
        on latest_sizes.audience_name = history_members.audience_name
    where latest_sizes.members <> coalesce(member_rows.members, 0)
        or latest_sizes.members <> coalesce(history_members.members, 0)

)

select * from size_changes
union all
select * from member_counts
