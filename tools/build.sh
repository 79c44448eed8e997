#!/usr/bin/env bash
# Builds the pinned real tools into .tools/bin from the Go module proxy.
# Each tools/<module>/ pins one upstream release in its go.mod and go.sum; a module's tools are rebuilt
# only when its pins, ldflags or outputs change, so with Go's module and build caches warm this takes seconds.
# Usage: tools/build.sh [MODULE...]   (default: every module)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
stamps="$root/.tools/stamps"
mkdir -p "$bin" "$stamps"
export CGO_ENABLED=0 GOFLAGS=-mod=mod

pin() { awk -v m="$2" '$1 == "require" && $2 == m {print $3} $1 == m && $2 ~ /^v/ {print $2}' "$root/tools/$1/go.mod" | head -1; }

# build MODULE[:STAMP] "LDFLAGS" OUT=PACKAGE...   (STAMP names a second set of outputs of the same module)
build() {
  local mod=${1%%:*} name=${1#*:} ldflags=$2; shift 2
  local dir="$root/tools/$mod" want missing=0 spec
  # The stamp covers this module's pins, its ldflags and its outputs only, so adding another module to
  # this script does not rebuild the others.
  want=$( (cat "$dir/go.mod" "$dir/go.sum" "$dir"/*.go "$dir"/*/*.go 2>/dev/null; echo "$ldflags $*") | sha256sum | cut -c1-16)
  for spec in "$@"; do [ -x "$bin/${spec%%=*}" ] || missing=1; done
  if [ "$missing" = 0 ] && [ "$(cat "$stamps/$name" 2>/dev/null)" = "$want" ]; then return 0; fi
  echo "tools: building $name ($*)" >&2
  for spec in "$@"; do
    (cd "$dir" && go build -trimpath -ldflags "-s -w $ldflags" -o "$bin/${spec%%=*}" "${spec#*=}")
  done
  echo "$want" > "$stamps/$name"
}

# fetch MODULE PATH: download a pinned module's source (data, not a binary) into Go's module cache and record
# its directory in .tools/<MODULE>.dir for the tests that read it.
fetch() {
  local mod=$1 path=$2 dir
  dir=$(cd "$root/tools/$mod" && go mod download -json "$path" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || { echo "tools/build.sh: go mod download $path gave no directory" >&2; exit 1; }
  echo "$dir" > "$root/.tools/$mod.dir"
}

k8s=$(pin kube k8s.io/kubernetes); k8s_minor=$(echo "$k8s" | cut -d. -f2)
h4=$(pin helm4 helm.sh/helm/v4); h3=$(pin helm3 helm.sh/helm/v3)
kwok=$(pin kwok sigs.k8s.io/kwok)
kube_ldflags="-X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=1 \
  -X k8s.io/component-base/version.gitMinor=$k8s_minor -X k8s.io/component-base/version.gitTreeState=clean"
h3kube=$(awk '$1 == "k8s.io/client-go" {print $2}' "$root/tools/helm3/go.mod" | cut -d. -f2)

want=("$@"); [ ${#want[@]} -gt 0 ] || want=(helm4 helmrender helm3 kubesec kubesecscan kubeconform kube-score kind kwok etcd kube pss actionlint)
# The Kind images' binaries (kind/images/build.sh asks for them): kube-node agnhost coredns pause
for mod in "${want[@]}"; do
  case "$mod" in
    helm4) build helm4 "-X helm.sh/helm/v4/internal/version.version=$h4 -X helm.sh/helm/v4/internal/version.metadata=" \
             helm=helm.sh/helm/v4/cmd/helm ;;
    helmrender)
      # The render engine must run exactly the Helm of the `helm` CLI it is compared with.
      [ "$(pin helmrender helm.sh/helm/v4)" = "$h4" ] || { echo "tools/build.sh: tools/helmrender pins helm.sh/helm/v4 $(pin helmrender helm.sh/helm/v4), tools/helm4 pins $h4; make them equal" >&2; exit 1; }
      build helmrender "-X helm.sh/helm/v4/internal/version.version=$h4 -X helm.sh/helm/v4/internal/version.metadata=" \
             helmrender=. ;;
    helm3) build helm3 "-X helm.sh/helm/v3/internal/version.version=$h3 -X helm.sh/helm/v3/internal/version.metadata= \
             -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$h3kube \
             -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$h3kube" \
             helm3=helm.sh/helm/v3/cmd/helm ;;
    kind) build kind "" kind=sigs.k8s.io/kind ;;
    kwok) build kwok "-X sigs.k8s.io/kwok/pkg/consts.Version=${kwok#v} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${k8s#v}" \
             kwok=sigs.k8s.io/kwok/cmd/kwok kwokctl=sigs.k8s.io/kwok/cmd/kwokctl ;;
    etcd) build etcd "" etcd=. ;;
    kubesec) build kubesec "" kubesec=github.com/controlplaneio/kubesec/v2 ;;
    kubesecscan)
      # The batch scorer must run exactly the kubesec rules and kubeconform validation of the `kubesec` CLI.
      for dep in github.com/controlplaneio/kubesec/v2 github.com/yannh/kubeconform; do
        [ "$(pin kubesecscan $dep)" = "$(pin kubesec $dep)" ] || { echo "tools/build.sh: tools/kubesecscan pins $dep $(pin kubesecscan $dep), tools/kubesec pins $(pin kubesec $dep); make them equal" >&2; exit 1; }
      done
      build kubesecscan "" kubesecscan=. ;;
    # The peer stack `make bench` times the render tier against: helm template + kubeconform + kube-score.
    kubeconform) build kubeconform "-X main.version=$(pin kubeconform github.com/yannh/kubeconform)" \
             kubeconform=github.com/yannh/kubeconform/cmd/kubeconform ;;
    kube-score) build kube-score "-X main.version=$(pin kube-score github.com/zegl/kube-score)" \
             kube-score=github.com/zegl/kube-score/cmd/kube-score ;;
    kube) build kube "$kube_ldflags" \
             kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
             kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler kubectl=k8s.io/kubernetes/cmd/kubectl ;;
    pss) fetch pss k8s.io/pod-security-admission ;;
    kube-node) build kube:kube-node "$kube_ldflags" \
             kubelet=k8s.io/kubernetes/cmd/kubelet kubeadm=k8s.io/kubernetes/cmd/kubeadm kube-proxy=k8s.io/kubernetes/cmd/kube-proxy ;;
    agnhost) build kube:agnhost "" agnhost=k8s.io/kubernetes/test/images/agnhost ;;
    coredns) build coredns "" coredns=. ;;
    pause) build pause "" pause=. ;;
    actionlint) build actionlint "-X github.com/rhysd/actionlint.version=$(pin actionlint github.com/rhysd/actionlint)" \
             actionlint=github.com/rhysd/actionlint/cmd/actionlint ;;
    *) echo "tools/build.sh: unknown module '$mod' (one of: helm4 helmrender helm3 kubesec kubesecscan kubeconform kube-score kind kwok etcd kube pss actionlint kube-node agnhost coredns pause)" >&2; exit 2 ;;
  esac
done
