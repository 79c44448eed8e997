"""The cluster providers' view of the harness's one timeouts table (conformance/timeouts.py)."""

from __future__ import annotations

from conformance.timeouts import TIMEOUTS, Timeouts, WaitTimeout, wait_for

#: Providers take a `timeouts` argument (tests pass shorter ones); these names keep that API readable.
ClusterTimeouts = Timeouts
CLUSTER_TIMEOUTS = TIMEOUTS

__all__ = ["CLUSTER_TIMEOUTS", "ClusterTimeouts", "WaitTimeout", "wait_for"]
