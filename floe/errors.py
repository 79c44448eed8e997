"""Errors that end a `floe` command with one line and a distinct exit code (the harness's codes)."""

from __future__ import annotations

from conformance.errors import EXIT_FINDINGS, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

EXIT_FAILED = EXIT_FINDINGS
__all__ = ["EXIT_FAILED", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "DeployFailed", "FloeError"]


class FloeError(Exception):
    """Bad input or an unusable environment (file, field, fix in one line): exit 2."""

    exit_code = EXIT_USAGE


class DeployFailed(Exception):
    """A deploy was attempted and did not succeed (the reason from the cluster's events): exit 1."""

    exit_code = EXIT_FAILED
