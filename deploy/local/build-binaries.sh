#!/usr/bin/env bash
# Builds (once) the Go binaries of the local platform into the per-user cache:
#   controlplane  etcd + kube-apiserver + kube-controller-manager + kube-scheduler
#   kwok          simulated nodes and pod lifecycles
# The cache key is the hash of the controlplane module's sources, so an edit rebuilds
# and a fresh clone elsewhere on the same machine reuses what is there.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${TOPOLOG_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/topolog}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
mkdir -p "$cache/bin"
export GOFLAGS="${GOFLAGS:--mod=mod}"

key="$(cat "$here/controlplane/go.mod" "$here/controlplane/go.sum" "$here/controlplane/main.go" | sha256sum | cut -c1-16)"
cp_bin="$cache/bin/controlplane-$key"
if [[ ! -x "$cp_bin" ]]; then
  k8s_version="$(awk '$1=="k8s.io/kubernetes"{print $2; exit}' "$here/controlplane/go.mod")"
  minor="$(echo "$k8s_version" | cut -d. -f2)"
  pkg=k8s.io/component-base/version
  echo "building controlplane $k8s_version (cold: 10-25 min on 2 cores) -> $cp_bin" >&2
  (cd "$here/controlplane" && CGO_ENABLED=0 go build -trimpath -o "$cp_bin.tmp" \
    -ldflags "-s -w -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean" .)
  mv "$cp_bin.tmp" "$cp_bin"
fi
ln -sfn "$cp_bin" "$cache/bin/controlplane"

kwok_bin="$cache/bin/kwok-$KWOK_VERSION"
if [[ ! -x "$kwok_bin" ]]; then
  echo "building kwok $KWOK_VERSION -> $kwok_bin" >&2
  tmp="$(mktemp -d)"
  GOBIN="$tmp" CGO_ENABLED=0 go install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  mv "$tmp/kwok" "$kwok_bin"
  rm -rf "$tmp"
fi
ln -sfn "$kwok_bin" "$cache/bin/kwok"
echo "$cache/bin"
