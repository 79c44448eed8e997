"""Shared fixtures of the harness's own tests: paths, the real tools, and pytester for the plugin tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conformance import REPO_ROOT

pytest_plugins = ["pytester"]

FIXTURES = REPO_ROOT / "fixtures"
CHARTS = FIXTURES / "charts"
TOOLS = REPO_ROOT / ".tools" / "bin"


@pytest.fixture(scope="session")
def tool_env() -> dict[str, str]:
    """The environment for subprocesses: the pinned tools first on PATH, no CONFORMANCE_* leaking in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONFORMANCE_")}
    env["PATH"] = f"{TOOLS}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="session")
def kubesec_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A per-session folder for kubesec's offline schemas."""
    return tmp_path_factory.mktemp("kubesec")
