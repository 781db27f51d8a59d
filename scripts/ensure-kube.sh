#!/usr/bin/env bash
# Prints the paths of a kube-apiserver and an etcd binary for the tests (apiserver
# first, one per line), building them from the Go modules pinned in
# tools/kube-server/go.mod on first use. Binaries are cached outside the clone,
# named by version, so a fresh clone reuses them and a version bump rebuilds.
# Progress goes to stderr; stdout carries only the two paths.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mod="$root/tools/kube-server"
bin="${VAULTAPP_CACHE:-$HOME/.cache/vaultapp}/bin"

# Versions come from go.mod so there is exactly one place to bump them.
modver() { awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$mod/go.mod"; }
kube_ver="$(modver k8s.io/kubernetes)"
etcd_ver="$(modver go.etcd.io/etcd/server/v3)"
[[ -n $kube_ver && -n $etcd_ver ]] || { echo "ensure-kube: versions not found in $mod/go.mod" >&2; exit 1; }

apiserver="$bin/kube-apiserver-$kube_ver"
etcd="$bin/etcd-$etcd_ver"

runs() { [[ -x $1 ]] && "$1" --version >/dev/null 2>&1; }

build() { # build <out> <package> <ldflags>
  local out="$1" pkg="$2" ldflags="$3" tmp
  tmp="$(mktemp "$out.tmp.XXXXXX")"
  echo "ensure-kube: building $(basename "$out") from $pkg (takes minutes on a cold cache)" >&2
  local start=$SECONDS
  # -mod=readonly: go.sum in the repo is the pin; never rewrite it during a test run.
  CGO_ENABLED=0 go -C "$mod" build -mod=readonly -trimpath -ldflags "-s -w $ldflags" -o "$tmp" "$pkg" >&2 ||
    { rm -f "$tmp"; return 1; }
  mv -f "$tmp" "$out" # rename is atomic, so a concurrent caller never sees half a file
  echo "ensure-kube: built $out in $((SECONDS - start))s" >&2
}

mkdir -p "$bin"
# Test files run in parallel and each may call this; one cold build on 2 cores is slow enough.
exec 9>"$bin/.ensure-kube.lock"
flock 9

if ! runs "$apiserver"; then
  # Without these the binary reports v0.0.0-master, which breaks version-gated behaviour.
  minor="${kube_ver#v1.}"; minor="${minor%%.*}"
  v=k8s.io/component-base/version
  build "$apiserver" k8s.io/kubernetes/cmd/kube-apiserver \
    "-X $v.gitVersion=$kube_ver -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean -X $v.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
fi

if ! runs "$etcd"; then
  build "$etcd" go.etcd.io/etcd/server/v3 "-X go.etcd.io/etcd/api/v3/version.GitSHA=$etcd_ver"
fi

runs "$apiserver" || { echo "ensure-kube: $apiserver does not run" >&2; exit 1; }
runs "$etcd" || { echo "ensure-kube: $etcd does not run" >&2; exit 1; }
echo "$apiserver"
echo "$etcd"
