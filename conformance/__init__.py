"""floe conformance: a pytest-based Helm chart conformance harness."""

from pathlib import Path

__version__ = "0.1.0"

#: The repository root when running from a checkout (suites/, fixtures/ and .tools/ live there).
REPO_ROOT = Path(__file__).resolve().parent.parent
