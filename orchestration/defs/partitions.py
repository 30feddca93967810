"""The daily partitions: one per dump folder date."""

from __future__ import annotations

import dagster as dg

from orchestration import settings

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=settings.partitions_start_date(),
    end_offset=1,  # today's folder can be loaded before midnight
)
