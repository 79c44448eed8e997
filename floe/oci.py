"""A small OCI distribution client (pull and push of one-layer artifacts) with Basic and Bearer auth.

Compiled artifacts travel as an OCI artifact: one layer of media type `LAYER_MEDIA_TYPE` holding
compiled_artifacts.json. The wire protocol is the OCI distribution spec, spoken to a real registry.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from floe.errors import FloeError

ARTIFACT_TYPE = "application/vnd.floe.compiled-artifacts.v1+json"
LAYER_MEDIA_TYPE = "application/vnd.floe.compiled-artifacts.layer.v1+json"
CONFIG_MEDIA_TYPE = "application/vnd.oci.empty.v1+json"
MANIFEST_MEDIA_TYPE = "application/vnd.oci.image.manifest.v1+json"
#: Seconds for one registry request.
REQUEST_TIMEOUT = 30.0
#: Loopback registries are spoken to over plain HTTP (as Helm and oras do for localhost); others use HTTPS.
PLAIN_HTTP_HOSTS = ("localhost", "127.0.0.1", "[::1]")
#: Credentials: FLOE_REGISTRY_USERNAME / FLOE_REGISTRY_PASSWORD (never in the artifact or the command line).
USER_ENV, PASSWORD_ENV = "FLOE_REGISTRY_USERNAME", "FLOE_REGISTRY_PASSWORD"


@dataclass(frozen=True)
class Reference:
    """`oci://host[:port]/repo/name:tag` or `...@sha256:...`."""

    host: str
    repository: str
    reference: str

    def __str__(self) -> str:
        """The reference as the user writes it."""
        sep = "@" if self.reference.startswith("sha256:") else ":"
        return f"oci://{self.host}/{self.repository}{sep}{self.reference}"

    @property
    def base(self) -> str:
        """The registry's base URL."""
        hostname = self.host.rsplit(":", 1)[0] if not self.host.startswith("[") else self.host.split("]")[0] + "]"
        scheme = "http" if hostname in PLAIN_HTTP_HOSTS else "https"
        return f"{scheme}://{self.host}"


def parse_reference(ref: str) -> Reference:
    """Parse an `oci://` reference; FloeError with the expected shape if it is malformed."""
    m = re.fullmatch(r"oci://([^/]+)/([a-z0-9]+(?:[._/-][a-z0-9]+)*)(?::([\w][\w.-]{0,127})|@(sha256:[0-9a-f]{64}))",
                     ref)
    if not m:
        raise FloeError(f"--artifact {ref}: not an OCI reference; write oci://HOST[:PORT]/REPOSITORY:TAG "
                        "(or @sha256:DIGEST)")
    return Reference(m.group(1), m.group(2), m.group(3) or m.group(4))


def credentials() -> tuple[str, str] | None:
    """Registry credentials from the environment, if both are set."""
    user, password = os.environ.get(USER_ENV), os.environ.get(PASSWORD_ENV)
    return (user, password) if user and password is not None else None


class Client:
    """One registry session: answers a Basic or Bearer challenge once, then reuses the credential."""

    def __init__(self, ref: Reference, auth: tuple[str, str] | None = None) -> None:
        """Talk to the registry of `ref` with optional (user, password)."""
        self.ref = ref
        self.auth = auth
        self.header: str | None = None

    def _open(self, method: str, url: str, data: bytes | None = None,
              headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        hdrs = dict(headers or {})
        for attempt in range(2):
            if self.header:
                hdrs["Authorization"] = self.header
            req = urllib.request.Request(url, data=data, method=method, headers=hdrs)  # noqa: S310 (http/https only)
            try:
                with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT) as resp:  # noqa: S310
                    return resp.status, dict(resp.headers.items()), resp.read()
            except urllib.error.HTTPError as exc:
                if exc.code == 401 and attempt == 0 and self._authorize(exc.headers.get("WWW-Authenticate", "")):
                    continue
                return exc.code, dict(exc.headers.items()), exc.read()
            except (urllib.error.URLError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                raise FloeError(f"{self.ref}: registry {self.ref.host} unreachable ({reason}); "
                                "check the host and port, and that the registry runs") from exc
        raise AssertionError("unreachable")

    def _authorize(self, challenge: str) -> bool:
        """Build the Authorization header for a 401 challenge; False when there is nothing to answer with."""
        if self.auth is None:
            return False
        user, password = self.auth
        basic = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        if challenge.lower().startswith("basic"):
            self.header = basic
            return True
        if challenge.lower().startswith("bearer"):
            params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
            query = urllib.parse.urlencode({k: v for k, v in params.items() if k in ("service", "scope")})
            req = urllib.request.Request(f"{params.get('realm', '')}?{query}",  # noqa: S310
                                         headers={"Authorization": basic})
            try:
                with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT) as resp:  # noqa: S310
                    token = json.loads(resp.read())
            except (urllib.error.URLError, OSError, ValueError):
                return False
            self.header = "Bearer " + str(token.get("token") or token.get("access_token", ""))
            return True
        return False

    def _check(self, status: int, body: bytes, what: str) -> None:
        if status in (401, 403):
            who = f"as {self.auth[0]!r}" if self.auth else f"without credentials (set {USER_ENV} and {PASSWORD_ENV})"
            raise FloeError(f"{self.ref}: registry refused {what} {who} (HTTP {status}); check the credentials")
        if status == 404:
            raise FloeError(f"{self.ref}: {what}: not found in the registry (HTTP 404); check the repository "
                            "and tag (push the artifact first)")
        if status >= 300:
            raise FloeError(f"{self.ref}: {what}: registry answered HTTP {status}: {body[:200]!r}")

    def pull(self) -> tuple[bytes, str]:
        """The artifact's single layer and the manifest digest it was pulled by."""
        r = self.ref
        status, headers, body = self._open(
            "GET", f"{r.base}/v2/{r.repository}/manifests/{r.reference}",
            headers={"Accept": MANIFEST_MEDIA_TYPE})
        self._check(status, body, f"manifest {r.reference}")
        digest = headers.get("Docker-Content-Digest") or "sha256:" + hashlib.sha256(body).hexdigest()
        manifest: dict[str, Any] = json.loads(body)
        layers = [layer for layer in manifest.get("layers", []) if layer.get("mediaType") == LAYER_MEDIA_TYPE]
        if len(layers) != 1:
            raise FloeError(f"{r}: not a floe compiled-artifacts artifact (needs one layer of type "
                            f"{LAYER_MEDIA_TYPE}); push it with `floe artifact push`")
        status, _, blob = self._open("GET", f"{r.base}/v2/{r.repository}/blobs/{layers[0]['digest']}")
        self._check(status, blob, f"layer {layers[0]['digest']}")
        if "sha256:" + hashlib.sha256(blob).hexdigest() != layers[0]["digest"]:
            raise FloeError(f"{r}: layer digest mismatch; the registry served corrupt data, pull again")
        return blob, digest

    def _push_blob(self, data: bytes) -> dict[str, Any]:
        r = self.ref
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        status, headers, body = self._open("POST", f"{r.base}/v2/{r.repository}/blobs/uploads/", data=b"")
        self._check(status, body, "blob upload")
        location = urllib.parse.urljoin(r.base, headers["Location"])
        sep = "&" if "?" in location else "?"
        status, _, body = self._open("PUT", f"{location}{sep}digest={digest}", data=data,
                                     headers={"Content-Type": "application/octet-stream"})
        self._check(status, body, "blob upload")
        return {"digest": digest, "size": len(data)}

    def push(self, layer: bytes, title: str) -> str:
        """Push `layer` as a one-layer floe artifact at the reference's tag; the manifest digest."""
        config = {"mediaType": CONFIG_MEDIA_TYPE, **self._push_blob(b"{}")}
        blob = {"mediaType": LAYER_MEDIA_TYPE, **self._push_blob(layer),
                "annotations": {"org.opencontainers.image.title": title}}
        manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_MEDIA_TYPE, "artifactType": ARTIFACT_TYPE,
                               "config": config, "layers": [blob]}, sort_keys=True).encode()
        r = self.ref
        status, _, body = self._open("PUT", f"{r.base}/v2/{r.repository}/manifests/{r.reference}", data=manifest,
                                     headers={"Content-Type": MANIFEST_MEDIA_TYPE})
        self._check(status, body, f"manifest {r.reference}")
        return "sha256:" + hashlib.sha256(manifest).hexdigest()
