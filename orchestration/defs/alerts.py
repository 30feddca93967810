"""The run-failure sensor: a failed run of the nightly job (a failing step, or an error-severity
dbt test, which fails the dbt step) is logged and sent to CDP_ALERT_WEBHOOK when set.

Freshness misses (no new dump loaded by 05:00 UTC) show in the UI through the freshness
policies (orchestration/defs/freshness.py)."""

from __future__ import annotations

import dagster as dg

from orchestration import settings
from orchestration.alerts import failure_message, post_alert
from orchestration.defs.jobs import nightly_job
from orchestration.defs.runner import step_error_messages


def _causes(context: dg.RunFailureSensorContext) -> list[str]:
    """One line per failed step: its innermost cause (the error our code raised)."""
    causes = [f"step {event.step_key}: {step_error_messages(event)[-1].splitlines()[0]}"
              for event in context.get_step_failure_events()]
    return causes or [context.failure_event.message or "the run failed"]


@dg.run_failure_sensor(
    monitored_jobs=[nightly_job],
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "When a run of the nightly job fails (a step, or a dbt test of severity error), logs the "
        "causes and posts them as Slack-style JSON ({\"text\": ...}) to CDP_ALERT_WEBHOOK."
    ),
)
def nightly_failure_alert(context: dg.RunFailureSensorContext) -> None:
    run = context.dagster_run
    tags = run.tags
    start = tags.get("dagster/asset_partition_range_start") or tags.get("dagster/partition")
    end = tags.get("dagster/asset_partition_range_end")
    partitions = f"{start}..{end}" if start and end and start != end else start
    payload = failure_message(run.job_name, run.run_id, partitions, _causes(context))
    context.log.error(payload["text"])
    url = settings.alert_webhook_url()
    if url:
        post_alert(url, payload)
