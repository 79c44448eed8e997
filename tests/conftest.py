"""Shared fixtures of the harness's own tests: paths, the real tools, and pytester for the plugin tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from conformance import REPO_ROOT
from conformance.registry import LocalRegistry

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


@pytest.fixture(scope="session")
def oci_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A real OCI registry (Debian's docker-registry) on 127.0.0.1, no auth; stopped at session end."""
    with LocalRegistry(tmp_path_factory.mktemp("registry")) as registry:
        yield registry


@pytest.fixture(scope="session")
def oci_registry_auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRegistry]:
    """A real OCI registry on 127.0.0.1 with htpasswd Basic auth (`registry.auth` holds user and password)."""
    with LocalRegistry(tmp_path_factory.mktemp("registry-auth"), auth=("floe", "s3cret-floe")) as registry:
        yield registry
