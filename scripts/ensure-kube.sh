#!/usr/bin/env bash
# Prints the paths of a kube-apiserver and an etcd binary for the tests (apiserver
# first, one per line). Binaries the user already has are used when they run and report
# a supported version: $KUBE_APISERVER_BIN / $ETCD_BIN, else kube-apiserver / etcd on PATH
# (not with VAULTAPP_PINNED_ONLY=1, as in CI). Otherwise each is built from the Go modules
# pinned in tools/kube-server/go.mod on first use, cached outside the clone, named by
# version, so a fresh clone reuses them and a version bump rebuilds.
# Progress and the choices made go to stderr; stdout carries only the two paths.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/lib/installed-bin.sh"
mod="$root/tools/kube-server"
bin="${VAULTAPP_CACHE:-$HOME/.cache/vaultapp}/bin"

# Versions come from go.mod so there is exactly one place to bump them.
modver() { awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit }' "$mod/go.mod"; }
kube_ver="$(modver k8s.io/kubernetes)"
etcd_ver="$(modver go.etcd.io/etcd/server/v3)"
[[ -n $kube_ver && -n $etcd_ver ]] || { echo "ensure-kube: versions not found in $mod/go.mod" >&2; exit 1; }

apiserver="$bin/kube-apiserver-$kube_ver"
etcd="$bin/etcd-$etcd_ver"

# An installed binary is accepted from the pinned minor version up: kube-apiserver up to
# two minors newer (the flags the harness passes are stable that long), etcd within 3.x.
minor_of() { local m="${1#v}"; m="${m#*.}"; echo "${m%%.*}"; }
kube_min="1.$(minor_of "$kube_ver").0" kube_below="1.$(($(minor_of "$kube_ver") + 3))"
etcd_min="3.$(minor_of "$etcd_ver").0" etcd_below=4
check_semver() { # check_semver <path> <label> <regex with the version as group 1> <min> <below> <version args...>
  local bin=$1 label=$2 re=$3 min=$4 below=$5 line v
  shift 5
  line="$(installed_version "$bin" "$@")" || { echo "$line"; return 1; }
  [[ $line =~ $re ]] || { echo "'$*' printed no $label version: $line"; return 1; }
  v=${BASH_REMATCH[1]}
  version_in_range "$v" "$min" "$below" && { echo "$label v$v"; return 0; }
  echo "reports $label v$v; supported: >= $min < $below"
  return 1
}
check_apiserver() { check_semver "$1" kube-apiserver '^Kubernetes v([0-9]+\.[0-9]+\.[0-9]+)' "$kube_min" "$kube_below" --version; }
check_etcd() { check_semver "$1" etcd '^etcd Version: ([0-9]+\.[0-9]+\.[0-9]+)' "$etcd_min" "$etcd_below" --version; }

installed_apiserver="$(find_installed ensure-kube KUBE_APISERVER_BIN check_apiserver kube-apiserver)" || true
installed_etcd="$(find_installed ensure-kube ETCD_BIN check_etcd etcd)" || true
if [[ -n $installed_apiserver && -n $installed_etcd ]]; then
  echo "$installed_apiserver"
  echo "$installed_etcd"
  exit 0
fi

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

if [[ -z $installed_apiserver ]] && ! runs "$apiserver"; then
  # Without these the binary reports v0.0.0-master, which breaks version-gated behaviour.
  minor="${kube_ver#v1.}"; minor="${minor%%.*}"
  v=k8s.io/component-base/version
  build "$apiserver" k8s.io/kubernetes/cmd/kube-apiserver \
    "-X $v.gitVersion=$kube_ver -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean -X $v.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
fi

if [[ -z $installed_etcd ]] && ! runs "$etcd"; then
  build "$etcd" go.etcd.io/etcd/server/v3 "-X go.etcd.io/etcd/api/v3/version.GitSHA=$etcd_ver"
fi

if [[ -n $installed_apiserver ]]; then
  apiserver=$installed_apiserver
else
  runs "$apiserver" || { echo "ensure-kube: $apiserver does not run" >&2; exit 1; }
  echo "ensure-kube: using $apiserver (the pinned kube-apiserver $kube_ver)" >&2
fi
if [[ -n $installed_etcd ]]; then
  etcd=$installed_etcd
else
  runs "$etcd" || { echo "ensure-kube: $etcd does not run" >&2; exit 1; }
  echo "ensure-kube: using $etcd (the pinned etcd $etcd_ver)" >&2
fi
echo "$apiserver"
echo "$etcd"
