"""The Spark tests: run only when asked, with `-m spark` or CDP_SPARK_TESTS=1, and pyspark installed
(`uv sync --extra spark`). A plain `uv run pytest` does not even collect them.

    uv sync --extra spark
    uv run --extra spark pytest -m spark tests/spark

They start one local SparkSession for the whole run (JVM start about 15 s), with its tables and
metastore in a temporary folder (CDP_SPARK_DIR), never in the repo.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest


def _selected(config: pytest.Config) -> bool:
    if os.environ.get("CDP_SPARK_TESTS") == "1":
        return True
    expression = (config.getoption("markexpr", "") or "").replace("(", " ").replace(")", " ")
    words = expression.split()
    return "spark" in words and not any(
        words[i] == "not" and words[i + 1] == "spark" for i in range(len(words) - 1)
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "filterwarnings", "ignore:PySpark does not yet fully support pandas:FutureWarning"
    )


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if collection_path.name.startswith("test_") and not _selected(config):
        return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if importlib.util.find_spec("pyspark") is not None:
        return
    skip = pytest.mark.skip(reason="pyspark is not installed: uv sync --extra spark")
    for item in items:
        if "spark" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def spark_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spark")


@pytest.fixture(scope="session")
def spark(spark_dir: Path):
    """The process's SparkSession, as dbt-spark's session method and the loader share it."""
    from orchestration.ingest import spark_build

    os.environ["CDP_SPARK_DIR"] = str(spark_dir)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = spark_build.spark_session()
    yield session
    session.stop()
