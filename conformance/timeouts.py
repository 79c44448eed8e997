"""Every timeout of the harness in one place (seconds)."""

from __future__ import annotations

from dataclasses import dataclass


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
    helm_upgrade: float = 600.0
    helm_rollback: float = 300.0
    helm_test: float = 300.0
    helm_uninstall: float = 300.0
    namespace_delete: float = 120.0
    poll_interval: float = 0.5


TIMEOUTS = Timeouts()
