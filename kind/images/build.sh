#!/usr/bin/env bash
# `make kind-images`: builds, without any container registry, the Kind node image for the pinned
# Kubernetes (kind/versions.yaml) and the workload images the Kind tiers run, into the local Docker engine.
#
#   node image  floe-kind/node:v<pinned>: a Debian rootfs (debootstrap) with systemd, containerd, runc and
#               CNI plugins; kubelet, kubeadm, kubectl built from the pinned module (tools/kube); the
#               control-plane images (kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy,
#               etcd, CoreDNS, pause) built from Go and preloaded into the node's containerd under the exact
#               names `kubeadm config images list` and containerd's sandbox_image use.
#   workloads   floe-ci/* images (kind/images/workloads.txt), loaded into clusters by `kind load docker-image`.
#
# Every image carries a `dev.floe.inputs` label: the hash of everything it is built from. A step whose image
# exists with the same hash is skipped, so a re-run takes seconds, also from a fresh clone (the engine keeps
# the images). Debian packages come from Debian's mirror (debootstrap, cached in $FLOE_KIND_CACHE), Python
# packages from PyPI, Go modules from the Go module proxy.
# Usage: kind/images/build.sh [node|workloads]...   (default: both)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${FLOE_KIND_CACHE:-/var/tmp/floe-kind}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm
bin=$root/.tools/bin
export DOCKER_BUILDKIT=0
mkdir -p "$cache"

k8s=v$(awk '$1 == "pinned:" {gsub(/"/, "", $2); print $2}' "$root/kind/versions.yaml")
node_image=floe-kind/node:$k8s
# `kubeadm config images list --kubernetes-version $k8s` (kubeadm v1.35.4)
etcd_tag=3.6.6-0 coredns_tag=v1.13.1 pause_tag=3.10.1

say() { echo "kind-images: $*" >&2; }
# Debian's debootstrap, installed when missing (as engine.sh installs docker.io)
need_debootstrap() {
  command -v debootstrap >/dev/null && return 0
  if [ "$(id -u)" != 0 ]; then
    say "debootstrap is missing and this user cannot install it: apt-get install debootstrap (or run as root)"
    exit 2
  fi
  say "installing Debian's debootstrap"
  flock "${APT_LOCK:-/tmp/floe-apt.lock}" apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
  flock "${APT_LOCK:-/tmp/floe-apt.lock}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
    install -y -qq --no-install-recommends debootstrap >/dev/null
}
# hash of files (recursively) and extra words
inputs() { { for p in "$@"; do if [ -e "$p" ]; then find "$p" -type f -print0 | sort -z | xargs -0 cat; else echo "$p"; fi; done; } | sha256sum | cut -c1-16; }
label() { docker image inspect --format '{{index .Config.Labels "dev.floe.inputs"}}' "$1" 2>/dev/null || true; }
fresh() { [ "$(label "$1")" = "$2" ]; }

# rootfs NAME PACKAGES: a debootstrap'ed Debian directory in the cache (re-made when the list changes)
rootfs() {
  local name=$1 packages=$2 dir="$cache/$1"
  if [ -d "$dir" ] && [ "$(cat "$dir.stamp" 2>/dev/null)" = "$suite $packages" ]; then return 0; fi
  need_debootstrap
  say "debootstrap $name ($packages)"
  mkdir -p "$cache/debs"
  rm -rf "$dir" "$dir.tmp"
  local t0=$SECONDS
  debootstrap --variant=minbase --cache-dir="$cache/debs" --include="$packages" "$suite" "$dir.tmp" "$mirror" \
    > "$cache/$name.log" 2>&1 || { tail -20 "$cache/$name.log" >&2; exit 1; }
  # no package caches, documentation or translations in images
  rm -rf "$dir.tmp"/var/lib/apt/lists/* "$dir.tmp"/var/cache/apt/*.bin "$dir.tmp"/var/cache/apt/archives/*.deb \
    "$dir.tmp"/usr/share/doc/* "$dir.tmp"/usr/share/man/* "$dir.tmp"/usr/share/info/* "$dir.tmp"/usr/share/locale/*
  mv "$dir.tmp" "$dir"
  echo "$suite $packages" > "$dir.stamp"
  say "debootstrap $name: $((SECONDS - t0)) s"
}

# import_rootfs NAME IMAGE: the cached directory as an image (skipped when unchanged)
import_rootfs() {
  local dir="$cache/$1" image=$2 want
  want=$(inputs "$dir.stamp" "$dir.extra")
  fresh "$image" "$want" && return 0
  say "import $dir as $image"
  tar -C "$dir" --numeric-owner -c . | docker import --change "LABEL dev.floe.inputs=$want" - "$image" >/dev/null
}

# scratch_image IMAGE INPUTS-HASH ENTRYPOINT-JSON FILE... : FROM scratch with the files in /usr/local/bin
scratch_image() {
  local image=$1 want=$2 entry=$3; shift 3
  fresh "$image" "$want" && return 0
  local ctx; ctx=$(mktemp -d "$cache/ctx.XXXXXX")
  cp "$@" "$ctx/"
  {
    echo "FROM scratch"
    for f in "$@"; do echo "COPY $(basename "$f") /usr/local/bin/$(basename "$f")"; done
    echo 'ENV PATH=/usr/local/bin:/usr/bin:/bin'
    echo "ENTRYPOINT $entry"
    echo "LABEL dev.floe.inputs=$want"
  } > "$ctx/Dockerfile"
  docker build -q -t "$image" "$ctx" >/dev/null
  rm -rf "$ctx"
}

node_packages=systemd,systemd-sysv,dbus,containerd,runc,iptables,iproute2,containernetworking-plugins,ca-certificates,socat,conntrack,ethtool,util-linux,mount,kmod,procps,libseccomp2,bash,pigz,ebtables,nftables,e2fsprogs
proxy_packages=iptables,conntrack,ca-certificates

build_node() {
  local want t0=$SECONDS
  # The binaries first (seconds when their stamps are current): the node's inputs are their stamps (each one
  # the hash of a module's pins, ldflags and outputs), so an edit elsewhere in tools/build.sh rebuilds nothing.
  "$root/tools/build.sh" kube kube-node etcd coredns pause
  want=$(inputs "$here/build.sh" "$here/node" "$root/.tools/stamps/kube" "$root/.tools/stamps/kube-node" \
    "$root/.tools/stamps/etcd" "$root/.tools/stamps/coredns" "$root/.tools/stamps/pause" "$k8s $node_packages $proxy_packages")
  if fresh "$node_image" "$want"; then say "$node_image is up to date"; return 0; fi
  local old
  old=$(docker image inspect --format '{{.Id}}' "$node_image" 2>/dev/null || true)
  say "building $node_image (binaries from tools/: kube, kube-node, etcd, coredns, pause)"

  # control-plane images, tagged as kubeadm and containerd name them
  local reg=registry.k8s.io c
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    scratch_image "$reg/$c:$k8s" "$(inputs "$bin/$c")" "[\"/usr/local/bin/$c\"]" "$bin/$c"
  done
  scratch_image "$reg/etcd:$etcd_tag" "$(inputs "$bin/etcd")" '["/usr/local/bin/etcd"]' "$bin/etcd"
  scratch_image "$reg/coredns/coredns:$coredns_tag" "$(inputs "$bin/coredns")" '["/usr/local/bin/coredns"]' "$bin/coredns"
  scratch_image "$reg/pause:$pause_tag" "$(inputs "$bin/pause")" '["/usr/local/bin/pause"]' "$bin/pause"
  # kube-proxy programs iptables: Debian's iptables and conntrack under the binary
  rootfs proxy-rootfs "$proxy_packages"
  import_rootfs proxy-rootfs floe-kind/proxy-rootfs:$suite
  local proxy_want; proxy_want=$(inputs "$bin/kube-proxy" "$(label floe-kind/proxy-rootfs:$suite)")
  if ! fresh "$reg/kube-proxy:$k8s" "$proxy_want"; then
    local ctx; ctx=$(mktemp -d "$cache/ctx.XXXXXX")
    cp "$bin/kube-proxy" "$ctx/"
    printf 'FROM floe-kind/proxy-rootfs:%s\nCOPY kube-proxy /usr/local/bin/kube-proxy\nENTRYPOINT ["/usr/local/bin/kube-proxy"]\nLABEL dev.floe.inputs=%s\n' \
      "$suite" "$proxy_want" > "$ctx/Dockerfile"
    docker build -q -t "$reg/kube-proxy:$k8s" "$ctx" >/dev/null
    rm -rf "$ctx"
  fi

  # the node's own filesystem
  rootfs node-rootfs "$node_packages"
  import_rootfs node-rootfs floe-kind/node-rootfs:$suite
  local ctx; ctx=$(mktemp -d "$cache/ctx.XXXXXX")
  cp -a "$here/node/files" "$ctx/files"
  mkdir -p "$ctx/bin" && cp "$bin/kubelet" "$bin/kubeadm" "$bin/kubectl" "$ctx/bin/"
  cp "$here/node/Dockerfile" "$ctx/Dockerfile"
  docker build -q --build-arg "KUBE_VERSION=$k8s" -t floe-kind/node-stage:$k8s "$ctx" >/dev/null
  rm -rf "$ctx"

  # preload the control-plane images into the node's containerd (content only, unpacked on first use),
  # then commit: what `kind build node-image` does
  local images=("$reg/kube-apiserver:$k8s" "$reg/kube-controller-manager:$k8s" "$reg/kube-scheduler:$k8s"
    "$reg/kube-proxy:$k8s" "$reg/etcd:$etcd_tag" "$reg/coredns/coredns:$coredns_tag" "$reg/pause:$pause_tag")
  local cid; cid=$(docker run -d --privileged --entrypoint /bin/sleep floe-kind/node-stage:$k8s infinity)
  trap 'docker rm -f "$cid" >/dev/null 2>&1 || true' RETURN
  docker exec "$cid" sh -c 'mkdir -p /run/containerd && (containerd >/tmp/containerd.log 2>&1 &) && for i in $(seq 50); do ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; cat /tmp/containerd.log; exit 1'
  docker save "${images[@]}" | docker exec -i "$cid" ctr --namespace=k8s.io images import --all-platforms --no-unpack -
  docker exec "$cid" sh -c 'ctr --namespace=k8s.io images list -q' >&2
  docker exec "$cid" sh -c 'pkill containerd; sleep 1; rm -rf /tmp/* /run/containerd'
  docker commit "$cid" floe-kind/node-committed:$k8s >/dev/null
  ctx=$(mktemp -d "$cache/ctx.XXXXXX")
  printf '%s\n' "FROM floe-kind/node-committed:$k8s" 'ENV container=docker' 'STOPSIGNAL SIGRTMIN+3' \
    'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' 'CMD []' "LABEL dev.floe.inputs=$want" > "$ctx/Dockerfile"
  docker build -q -t "$node_image" "$ctx" >/dev/null
  rm -rf "$ctx"
  docker rmi floe-kind/node-committed:$k8s >/dev/null 2>&1 || true
  # the previous build of this tag, now untagged (kept while a cluster still uses it)
  [ -n "$old" ] && [ "$(docker image inspect --format '{{len .RepoTags}}' "$old" 2>/dev/null)" = 0 ] \
    && docker rmi "$old" >/dev/null 2>&1 || true
  say "$node_image built in $((SECONDS - t0)) s"
}

# workload_image IMAGE DIR [EXTRA-CONTEXT...]: docker build of kind/images/workloads/DIR (plus extra
# context directories copied beside its Dockerfile), skipped when its inputs and base did not change
workload_image() {
  local image=$1 dir="$here/workloads/$2" base want ctx; shift 2
  base=$(awk '$1 == "FROM" {print $2; exit}' "$dir/Dockerfile")
  want=$(inputs "$dir" "$@" "$(label "$base")")
  if fresh "$image" "$want"; then say "$image is up to date"; return 0; fi
  ctx=$(mktemp -d "$cache/ctx.XXXXXX")
  cp -a "$dir/." "$ctx/"
  local extra; for extra in "$@"; do cp -a "$extra" "$ctx/"; done
  docker build -q --label "dev.floe.inputs=$want" -t "$image" "$ctx" >/dev/null
  rm -rf "$ctx"
  say "built $image"
}

python_packages=python3,python3-venv,python3-pip,ca-certificates,busybox-static
postgres_packages=postgresql-15,ca-certificates

build_workloads() {
  local t0=$SECONDS want
  # Debian's PostgreSQL 15
  rootfs postgres-rootfs "$postgres_packages"
  import_rootfs postgres-rootfs floe-kind/postgres-rootfs:$suite
  workload_image floe-ci/postgres:15-bookworm postgres
  # Python with dbt-core and dbt-postgres from PyPI in /opt/dbt (pip runs chrooted: host network, no registry)
  rootfs python-rootfs "$python_packages"
  local req="$here/workloads/dbt/requirements.txt"
  if [ "$(cat "$cache/python-rootfs.extra" 2>/dev/null)" != "$(cat "$req")" ]; then
    say "pip install into python-rootfs:/opt/dbt ($(grep -v '^#' "$req" | tr '\n' ' '))"
    # wheels come through this host's pip (its index, proxy and certificates); the chroot installs offline
    rm -rf "$cache/wheels" && mkdir -p "$cache/wheels"
    env -u PIP_FIND_LINKS python3 -m pip download -q --only-binary=:all: --python-version 3.11 --platform manylinux2014_x86_64 \
      --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 --platform any \
      -d "$cache/wheels" -r "$req"
    rm -rf "$cache/python-rootfs/opt/dbt" "$cache/python-rootfs/tmp/wheels"
    cp -a "$cache/wheels" "$cache/python-rootfs/tmp/wheels"
    cp "$req" "$cache/python-rootfs/tmp/requirements.txt"
    chroot "$cache/python-rootfs" python3 -m venv /opt/dbt
    chroot "$cache/python-rootfs" env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null /opt/dbt/bin/pip install -q --no-index \
      --find-links /tmp/wheels -r /tmp/requirements.txt
    chroot "$cache/python-rootfs" /opt/dbt/bin/pip freeze > "$cache/python-rootfs/opt/dbt/freeze.txt"
    rm -rf "$cache/python-rootfs/tmp/requirements.txt" "$cache/python-rootfs/tmp/wheels"
    cat "$req" > "$cache/python-rootfs.extra"
  fi
  import_rootfs python-rootfs floe-kind/python-rootfs:$suite
  workload_image floe-ci/dbt-postgres:1.11 dbt "$root/fixtures/dbt/floe_demo"
  # BusyBox (Debian's busybox-static) for test hooks; agnhost (Kubernetes' e2e test server) for web pods
  local busybox="$cache/python-rootfs/bin/busybox"
  want=$(inputs "$busybox")
  if ! fresh floe-ci/busybox:1.35 "$want"; then
    local ctx; ctx=$(mktemp -d "$cache/ctx.XXXXXX")
    cp "$busybox" "$ctx/busybox"
    printf '%s\n' 'FROM scratch' 'COPY busybox /bin/busybox' 'RUN ["/bin/busybox", "--install", "-s", "/bin"]' \
      'ENV PATH=/bin' 'USER 10001' 'ENTRYPOINT ["/bin/sh"]' "LABEL dev.floe.inputs=$want" > "$ctx/Dockerfile"
    docker build -q -t floe-ci/busybox:1.35 "$ctx" >/dev/null
    rm -rf "$ctx"
  fi
  "$root/tools/build.sh" agnhost
  scratch_image floe-ci/agnhost:2.59 "$(inputs "$bin/agnhost")" '["/usr/local/bin/agnhost"]' "$bin/agnhost"
  say "workload images ready in $((SECONDS - t0)) s"
}

"$here/engine.sh"
what=("$@"); [ ${#what[@]} -gt 0 ] || what=(node workloads)
for w in "${what[@]}"; do
  case "$w" in
    node) build_node ;;
    workloads) build_workloads ;;
    *) echo "kind/images/build.sh: unknown target '$w' (node or workloads)" >&2; exit 2 ;;
  esac
done
