"""`oci://` artifacts against a real registry on the loopback: push, pull, refused login, missing tag."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conformance import REPO_ROOT
from conformance.cluster.kwok import free_port
from conformance.registry import LocalRegistry
from floe.artifacts import load_artifacts
from floe.errors import FloeError
from floe.oci import Client, parse_reference

SAMPLE = REPO_ROOT / "fixtures" / "artifacts" / "compiled_artifacts.json"


def floe(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "floe.cli", *args], capture_output=True, text=True, timeout=120,
                          env=env, check=False)


def test_push_then_generate_from_oci(oci_registry_auth: LocalRegistry, tool_env: dict[str, str]) -> None:
    env = {**tool_env, "FLOE_REGISTRY_USERNAME": "floe", "FLOE_REGISTRY_PASSWORD": "s3cret-floe"}
    ref = f"oci://{oci_registry_auth.host}/floe/customer-360:2.4.1"
    pushed = floe("artifact", "push", str(SAMPLE), ref, env=env)
    assert pushed.returncode == 0, pushed.stderr
    digest = pushed.stdout.strip().split("(")[-1].rstrip(")")
    out = floe("helm", "generate", "--artifact", ref, "--env", "qa", env=env)
    assert out.returncode == 0, out.stderr
    assert f"# artifact: {ref}\n# digest: {digest}\n" in out.stdout
    local = floe("helm", "generate", "--artifact", str(SAMPLE), "--env", "qa", env=env)
    # Same values whichever way the artifact came; only the header's source and digest differ.
    assert out.stdout.split("# environment:")[1] == local.stdout.split("# environment:")[1]


def test_pull_by_digest(oci_registry: LocalRegistry) -> None:
    ref = parse_reference(f"oci://{oci_registry.host}/floe/by-digest:v1")
    digest = Client(ref).push(SAMPLE.read_bytes(), "compiled_artifacts.json")
    loaded = load_artifacts(f"oci://{oci_registry.host}/floe/by-digest@{digest}")
    assert loaded.digest == digest
    assert loaded.raw == SAMPLE.read_bytes()


def test_refused_login_is_one_line_exit_2(oci_registry_auth: LocalRegistry, tool_env: dict[str, str]) -> None:
    ref = f"oci://{oci_registry_auth.host}/floe/customer-360:2.4.1"
    env = {**tool_env, "FLOE_REGISTRY_USERNAME": "floe", "FLOE_REGISTRY_PASSWORD": "wrong"}
    out = floe("helm", "generate", "--artifact", ref, "--env", "dev", env=env)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert "registry refused" in out.stderr and "'floe'" in out.stderr and "HTTP 401" in out.stderr
    anonymous = floe("helm", "generate", "--artifact", ref, "--env", "dev", env=tool_env)
    assert anonymous.returncode == 2 and "without credentials (set FLOE_REGISTRY_USERNAME" in anonymous.stderr


def test_missing_tag_is_one_line_exit_2(oci_registry: LocalRegistry, tool_env: dict[str, str]) -> None:
    out = floe("helm", "generate", "--artifact", f"oci://{oci_registry.host}/floe/nothing:9.9.9", "--env", "dev",
               env=tool_env)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1
    assert "not found in the registry (HTTP 404)" in out.stderr and "nothing:9.9.9" in out.stderr


def test_unreachable_registry_names_host() -> None:
    port = free_port()
    with pytest.raises(FloeError, match=rf"registry 127.0.0.1:{port} unreachable"):
        load_artifacts(f"oci://127.0.0.1:{port}/floe/x:1")


def test_malformed_reference() -> None:
    with pytest.raises(FloeError, match="not an OCI reference; write oci://HOST"):
        parse_reference("oci://no-repository")
