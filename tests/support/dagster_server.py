"""A Dagster webserver for a test (`cdp ui` or `dagster dev` on a free port, in its own process
group, stopped as a whole) and its GraphQL API."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(**values: str) -> dict[str, str]:
    """This process's environment with `values`, and the venv's scripts first on PATH (the code
    location checks that `dbt` is on it)."""
    return {
        **os.environ, **values,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def _wait_for_server(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the Dagster UI exited with {process.returncode}:\n"
                        f"{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                return
        except OSError:
            time.sleep(1)
    pytest.fail(f"the Dagster UI did not answer /server_info in {timeout:.0f}s:\n"
                f"{log.read_text()[-3000:]}")


def _stop_group(process: subprocess.Popen) -> None:
    """Stop the UI and everything it started (webserver, daemon, code servers)."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        time.sleep(1)  # the children finish their own shutdown
        os.killpg(process.pid, 0)  # raises when the whole group is gone
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


@contextlib.contextmanager
def running_ui(
    command: Sequence[str], env: Mapping[str, str], log: Path, timeout: float = 240
) -> Iterator[str]:
    """Run `command` (which serves the UI on the port in it) until the block ends; yields the
    base URL once /server_info answers."""
    port = command[command.index("--port") + 1]
    with log.open("w") as out:
        process = subprocess.Popen(
            list(command), cwd=REPO_ROOT, env=dict(env), stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, stopped as a whole below
        )
    try:
        url = f"http://127.0.0.1:{port}"
        _wait_for_server(url, process, log, timeout)
        yield url
    finally:
        _stop_group(process)


def graphql(url: str, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The `data` of a GraphQL request to the webserver at `url`; fails the test on errors."""
    request = urllib.request.Request(
        f"{url}/graphql",
        data=json.dumps({"query": query, "variables": dict(variables or {})}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        body = json.loads(response.read())
    if body.get("errors"):
        pytest.fail(f"GraphQL errors: {body['errors']}")
    return body["data"]


def wait_until_code_location_loaded(url: str, timeout: float = 240) -> None:
    """The webserver answers before the code location has loaded: wait for the nightly job."""
    query = """{ repositoriesOrError { __typename ... on RepositoryConnection {
                 nodes { name jobs { name } } } } }"""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = graphql(url, query)["repositoriesOrError"]
        jobs = {job["name"] for repo in data.get("nodes", []) for job in repo["jobs"]}
        if "cdp_nightly" in jobs:
            return
        time.sleep(2)
    pytest.fail(f"the code location did not load in {timeout:.0f}s")
