"""Guaranteed deletion: every created cluster is deleted at interpreter exit and on SIGTERM/SIGHUP."""

from __future__ import annotations

import atexit
import signal
import sys
import threading
from types import FrameType
from typing import Protocol


class _Deletable(Protocol):
    """Anything the registry can delete."""

    name: str

    def delete(self) -> None:
        """Delete it; must be idempotent."""


_LOCK = threading.Lock()
_LIVE: dict[int, _Deletable] = {}
_INSTALLED = False


def register(cluster: _Deletable) -> None:
    """Remember a cluster that is being created, so that exit or a signal deletes it."""
    _install()
    with _LOCK:
        _LIVE[id(cluster)] = cluster


def unregister(cluster: _Deletable) -> None:
    """Forget a cluster once it is deleted."""
    with _LOCK:
        _LIVE.pop(id(cluster), None)


def keep(cluster: _Deletable) -> None:
    """Let a cluster outlive this process: exit and signals no longer delete it (its owner deletes it later)."""
    unregister(cluster)


def live() -> list[_Deletable]:
    """The clusters created and not yet deleted, oldest first."""
    with _LOCK:
        return list(_LIVE.values())


def delete_all() -> None:
    """Delete every live cluster, newest first; report failures on stderr and go on."""
    for cluster in reversed(live()):
        try:
            cluster.delete()
        except Exception as exc:  # at exit every cluster gets its chance
            print(f"conformance: could not delete cluster {cluster.name}: {exc}", file=sys.stderr)
        unregister(cluster)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    """Turn SIGTERM/SIGHUP into SystemExit so `with` blocks unwind and atexit runs."""
    raise SystemExit(128 + signum)


def _install() -> None:
    """Install the atexit hook once, and signal handlers where Python's defaults would skip cleanup."""
    global _INSTALLED  # noqa: PLW0603 - one process-wide installation
    with _LOCK:
        if _INSTALLED:
            return
        _INSTALLED = True
    atexit.register(delete_all)
    if threading.current_thread() is not threading.main_thread():
        return
    # SIGINT already raises KeyboardInterrupt; SIGTERM and SIGHUP would kill the process outright.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, _on_signal)
