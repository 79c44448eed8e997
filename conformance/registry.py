"""A real OCI registry on the loopback for tests: Debian's `docker-registry` (CNCF distribution), optional htpasswd.

Used by the floe CLI's `oci://` tests and by chart-push tests; `.ci/install-deps` installs the package.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self

import yaml

from conformance.cluster.kwok import LOOPBACK, free_port
from conformance.errors import EnvError
from conformance.timeouts import TIMEOUTS, WaitTimeout, wait_for

INSTALL_HINT = "install it with .ci/install-deps (apt-get install docker-registry apache2-utils)"


def registry_binary() -> str:
    """The registry server: $CONFORMANCE_REGISTRY, else `docker-registry` on PATH; EnvError with the fix."""
    path = os.environ.get("CONFORMANCE_REGISTRY") or shutil.which("docker-registry")
    if not path:
        raise EnvError(f"docker-registry: not found; {INSTALL_HINT}")
    return path


def htpasswd_line(user: str, password: str) -> str:
    """A bcrypt htpasswd entry (the only hash distribution accepts), from apache2-utils' `htpasswd`."""
    tool = shutil.which("htpasswd")
    if not tool:
        raise EnvError(f"htpasswd: not found; {INSTALL_HINT}")
    proc = subprocess.run([tool, "-Bbn", user, password], capture_output=True, text=True, check=False,
                          timeout=TIMEOUTS.tool_version)
    if proc.returncode != 0:
        raise EnvError(f"htpasswd -B: {proc.stderr.strip()}")
    return proc.stdout.strip()


class LocalRegistry:
    """`docker-registry serve` bound to 127.0.0.1 on a free port, storing under `root`; stop() removes nothing."""

    def __init__(self, root: Path, auth: tuple[str, str] | None = None) -> None:
        """Describe the registry; `auth` (user, password) turns on htpasswd Basic auth."""
        self.root = root
        self.auth = auth
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        """`127.0.0.1:PORT`, as written in `oci://` references."""
        return f"{LOOPBACK}:{self.port}"

    def config(self) -> dict[str, object]:
        """The distribution configuration: loopback only, filesystem storage, deletes allowed."""
        cfg: dict[str, object] = {
            "version": 0.1,
            "log": {"level": "warn"},
            "storage": {"filesystem": {"rootdirectory": str(self.root / "data")}, "delete": {"enabled": True}},
            "http": {"addr": self.host},
        }
        if self.auth:
            cfg["auth"] = {"htpasswd": {"realm": "floe-test", "path": str(self.root / "htpasswd")}}
        return cfg

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=TIMEOUTS.probe):
                return True
        except urllib.error.HTTPError as exc:
            return exc.code == 401
        except OSError:
            return False

    def start(self) -> Self:
        """Start it and wait until `/v2/` answers; EnvError with its log if it does not."""
        binary = registry_binary()
        self.root.mkdir(parents=True, exist_ok=True)
        if self.auth:
            (self.root / "htpasswd").write_text(htpasswd_line(*self.auth) + "\n")
        self.port = free_port()
        cfg = self.root / "config.yml"
        cfg.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        log = (self.root / "registry.log").open("wb")
        self.proc = subprocess.Popen([binary, "serve", str(cfg)], stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: self.proc is not None and self.proc.poll() is None and self._answers(),
                     TIMEOUTS.ready, TIMEOUTS.poll_interval, f"registry on {self.host}")
        except WaitTimeout as exc:
            self.stop()
            tail = (self.root / "registry.log").read_text(errors="replace").strip().splitlines()[-1:]
            raise EnvError(f"{exc}: {' '.join(tail) or 'no log'}") from exc
        return self

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL); safe to call twice."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=TIMEOUTS.process_exit)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=TIMEOUTS.process_exit)
        self.proc = None

    def __enter__(self) -> Self:
        """Start it."""
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        """Stop it."""
        self.stop()
