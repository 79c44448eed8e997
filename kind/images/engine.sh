#!/usr/bin/env bash
# Makes sure a Docker engine answers. When none runs, installs Debian's docker.io (if missing) and starts
# dockerd in the background (log: /var/log/floe-dockerd.log). Where this host lacks CAP_SYS_RESOURCE
# (some VMs drop it from every process), privileged containers cannot start because Docker asks for every
# capability; then dockerd gets a runc wrapper as its default runtime that drops that one capability from
# the OCI spec. A host that has the capability, or an engine that already runs, is left alone.
# Usage: kind/images/engine.sh        exit 0 when `docker info` answers
set -euo pipefail

have_engine() { docker info --format '{{.ServerVersion}}' >/dev/null 2>&1; }

# CAP_SYS_RESOURCE is capability 24: bit 24 of the bounding set of this process.
lacks_sys_resource() {
  local bnd; bnd=$(awk '/^CapBnd:/ {print $2}' /proc/self/status)
  [ $(( 0x$bnd >> 24 & 1 )) -eq 0 ]
}

if have_engine; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "engine.sh: no Docker engine answers and this user cannot start one; start dockerd (or run as root)" >&2
  exit 2
fi
if ! command -v dockerd >/dev/null; then
  echo "engine.sh: installing Debian's docker.io" >&2
  apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends docker.io >/dev/null
fi
# The Debian package may have started its own service (systemd hosts): use it when it answers.
for _ in 1 2 3; do have_engine && exit 0; sleep 1; done

args=(--host unix:///var/run/docker.sock --data-root /var/lib/docker)
if lacks_sys_resource; then
  wrapper=/usr/local/lib/floe/runc-no-sys-resource
  mkdir -p "$(dirname "$wrapper")"
  install -m 0755 "$(dirname "$0")/runc-wrapper.sh" "$wrapper"
  echo "engine.sh: this host lacks CAP_SYS_RESOURCE: dockerd's default runtime is $wrapper" >&2
  args+=(--add-runtime "floe-runc=$wrapper" --default-runtime floe-runc)
fi
nohup dockerd "${args[@]}" >>/var/log/floe-dockerd.log 2>&1 &
for _ in $(seq 1 60); do have_engine && exit 0; sleep 1; done
echo "engine.sh: dockerd did not answer within 60 s; see /var/log/floe-dockerd.log" >&2
exit 1
