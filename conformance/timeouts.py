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


TIMEOUTS = Timeouts()
