"""Every timeout of the cluster providers in one place (seconds), and the one waiting helper."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ClusterTimeouts:
    """Timeouts for creating, probing, using and deleting clusters; `CLUSTER_TIMEOUTS` is the default."""

    create: float = 300.0
    delete: float = 120.0
    ready: float = 120.0
    kubectl: float = 60.0
    probe: float = 15.0
    workload: float = 120.0
    process_exit: float = 30.0
    poll_interval: float = 0.5


CLUSTER_TIMEOUTS = ClusterTimeouts()


class WaitTimeout(TimeoutError):
    """A condition did not hold before its deadline."""


def wait_for(predicate: Callable[[], T | None], timeout: float, interval: float, describe: str) -> T:
    """Poll `predicate` until it returns a truthy value and return it; WaitTimeout after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = predicate()
        except Exception as exc:  # a probe that fails is retried until the deadline
            last_error = exc
            value = None
        if value:
            return value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            detail = f" (last error: {last_error})" if last_error is not None else ""
            raise WaitTimeout(f"timed out after {timeout:g}s waiting for {describe}{detail}")
        time.sleep(min(interval, remaining))
