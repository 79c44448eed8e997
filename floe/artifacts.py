"""Loading compiled artifacts from a file or an `oci://` reference, with the digest they are known by."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from floe.errors import FloeError
from floe.models import CompiledArtifacts, parse_artifacts
from floe.oci import Client, credentials, parse_reference


@dataclass(frozen=True)
class LoadedArtifacts:
    """Validated artifacts, where they came from and their digest (sha256 of the exact bytes)."""

    artifacts: CompiledArtifacts
    source: str
    digest: str
    raw: bytes


def load_artifacts(ref: str) -> LoadedArtifacts:
    """Read `ref` (a path, or oci://...) and validate it; FloeError with file, field and fix."""
    if ref.startswith("oci://"):
        data, digest = Client(parse_reference(ref), credentials()).pull()
        return LoadedArtifacts(parse_artifacts(data, ref), ref, digest, data)
    path = Path(ref)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FloeError(f"{ref}: cannot read the artifact ({exc.strerror}); pass a compiled_artifacts.json "
                        "path or an oci:// reference") from exc
    return LoadedArtifacts(parse_artifacts(data, ref), ref, "sha256:" + hashlib.sha256(data).hexdigest(), data)
