"""Errors that end a run with one clear line and a distinct exit code."""

from __future__ import annotations

#: Exit codes of the `conformance` CLI.
EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class ConformanceError(Exception):
    """A problem with the input or the environment, not a finding: exit 2 with one line."""

    exit_code = EXIT_USAGE


class UsageError(ConformanceError):
    """Bad input: a missing chart, an unreadable values file, an unknown option value."""


class EnvError(ConformanceError):
    """The environment cannot run the check: a tool is missing, a cluster is unreachable."""
