"""Every timeout of the harness in one place (seconds), and the one waiting helper."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Timeouts:
    """Timeouts for tool calls and flows; one instance, `TIMEOUTS`, is used everywhere."""

    helm_template: float = 120.0
    helm_lint: float = 120.0
    kubesec: float = 60.0
    tool_version: float = 20.0
    fuzz_example: float = 10.0
    fuzz_deadline_ms: int = 5000
    #: SC-001: a release deploys (helm install --wait returns with every workload ready) within 10 minutes.
    sc001_deploy: float = 600.0
    #: SC-002: a job's pod starts within 30 seconds of the Job being created.
    sc002_job_launch: float = 30.0
    #: A container running this long whose readiness probe still fails fails the wait with the probe's message.
    readiness_grace: float = 90.0
    helm_upgrade: float = 600.0
    helm_rollback: float = 300.0
    helm_test: float = 300.0
    helm_uninstall: float = 300.0
    namespace_delete: float = 120.0
    poll_interval: float = 0.5
    #: A watch is restarted (list, then watch from its resourceVersion) after this long.
    watch_restart: float = 240.0
    #: A pod the scheduler cannot place fails the wait only after this long (volumes binding, other pods'
    #: resources being released, a node being added).
    scheduling_grace: float = 60.0
    #: After Ctrl-C, how long the CLI lets pytest finish its own teardown before interrupting it itself.
    interrupt_grace: float = 60.0
    # Cluster providers: create, delete, readiness, kubectl calls, probes, workloads, process exit.
    create: float = 300.0
    delete: float = 120.0
    ready: float = 120.0
    kubectl: float = 60.0
    probe: float = 15.0
    workload: float = 120.0
    process_exit: float = 30.0


TIMEOUTS = Timeouts()


class WaitTimeout(TimeoutError):
    """A condition did not hold before its deadline."""


def wait_for(
    predicate: Callable[[], T | None],
    timeout: float,
    interval: float,
    describe: str,
    retry: tuple[type[Exception], ...] = (),
) -> T:
    """Poll `predicate` until it returns a truthy value and return it; WaitTimeout after `timeout` seconds.

    Only the exception types in `retry` (errors that can pass, like a not-yet-created object) are retried;
    any other exception ends the wait at once.
    """
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = predicate()
        except retry as exc:
            last_error = exc
            value = None
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            detail = f" (last error: {last_error})" if last_error is not None else ""
            raise WaitTimeout(f"timed out after {timeout:g}s waiting for {describe}{detail}")
        time.sleep(min(interval, remaining))
