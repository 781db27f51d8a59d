#!/usr/bin/env bash
# Prints the path of a kubectl binary for the manifest tests, which render
# metacontroller/ with `kubectl kustomize` (test/support/kustomize.ts). A kubectl the
# user already has is used when it runs and embeds Kustomize v5: $KUBECTL_BIN, else
# kubectl on PATH (not with VAULTAPP_PINNED_ONLY=1, as in CI). Otherwise kubectl is built
# from k8s.io/kubernetes as pinned in tools/kube-server/go.mod (the kube-apiserver's
# module, so one version bump moves both), cached outside the clone, named by version.
# Progress and the choices made go to stderr; stdout carries only the path.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/lib/installed-bin.sh"
mod="$root/tools/kube-server"
bin="${VAULTAPP_CACHE:-$HOME/.cache/vaultapp}/bin"

kube_ver="$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' "$mod/go.mod")"
[[ -n $kube_ver ]] || { echo "ensure-kubectl: k8s.io/kubernetes not found in $mod/go.mod" >&2; exit 1; }
kubectl="$bin/kubectl-$kube_ver"

# What the tests need of kubectl is its Kustomize: the manifests use v5 features
# (components, labels). `kubectl version --client` prints the client on the first line and
# the Kustomize version on the second, without contacting a cluster.
check_kubectl() {
  local out rc=0
  [[ -f $1 && -x $1 ]] || { echo "not an executable file"; return 1; }
  out="$(timeout 10 "$1" version --client 2>&1)" || rc=$?
  ((rc == 0)) || { echo "'kubectl version --client' failed (exit $rc): $(head -n1 <<<"$out")"; return 1; }
  local client kustomize
  client="$(sed -n 's/^Client Version: //p' <<<"$out")"
  kustomize="$(sed -n 's/^Kustomize Version: //p' <<<"$out")"
  [[ $kustomize =~ ^v5\. ]] || { echo "reports Kustomize ${kustomize:-(none)}; supported: v5.x"; return 1; }
  echo "kubectl $client, Kustomize $kustomize"
}

if installed="$(find_installed ensure-kubectl KUBECTL_BIN check_kubectl kubectl)"; then
  echo "$installed"
  exit 0
fi

# A complete binary reports the pinned version (the -X below sets it).
runs() { [[ -x $1 ]] && [[ "$("$1" version --client 2>/dev/null | head -n1)" == "Client Version: $kube_ver" ]]; }

if ! runs "$kubectl"; then
  mkdir -p "$bin"
  # Test files run in parallel and each may call this; build once.
  exec 9>"$bin/.ensure-kubectl.lock"
  flock 9
fi
if ! runs "$kubectl"; then
  echo "ensure-kubectl: building kubectl $kube_ver from k8s.io/kubernetes/cmd/kubectl (minutes on a cold cache)" >&2
  start=$SECONDS
  tmp="$(mktemp "$kubectl.tmp.XXXXXX")"
  minor="${kube_ver#v1.}"; minor="${minor%%.*}"
  vars=""
  # kubectl reports client-go's version; without these it says v0.0.0-master.
  for v in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
    vars+=" -X $v.gitVersion=$kube_ver -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean"
  done
  # -mod=readonly: go.sum in the repo is the pin; never rewrite it during a test run.
  CGO_ENABLED=0 go -C "$mod" build -mod=readonly -trimpath -ldflags "-s -w$vars" -o "$tmp" k8s.io/kubernetes/cmd/kubectl >&2 ||
    { rm -f "$tmp"; exit 1; }
  mv -f "$tmp" "$kubectl" # rename is atomic, so a concurrent caller never sees half a file
  runs "$kubectl" || { echo "ensure-kubectl: $kubectl does not run or does not report $kube_ver" >&2; exit 1; }
  echo "ensure-kubectl: built $kubectl in $((SECONDS - start))s" >&2
fi
what="$(check_kubectl "$kubectl")" || { echo "ensure-kubectl: $kubectl: $what" >&2; exit 1; }
echo "ensure-kubectl: using $kubectl (the pinned $what)" >&2
echo "$kubectl"
