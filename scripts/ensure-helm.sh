#!/usr/bin/env bash
# Prints the path of a helm binary for the chart tests (test/integration/helm-chart.test.ts),
# built on first use from the Go module pinned in tools/helm/go.mod and cached outside the
# clone, named by version, so a fresh clone reuses it and a version bump rebuilds. Only the
# pinned build is used (not a helm on PATH): what a chart renders can differ between Helm
# releases, and the tests compare it object by object with kustomize's output.
# Progress goes to stderr; stdout carries only the path.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mod="$root/tools/helm"
bin="${VAULTAPP_CACHE:-$HOME/.cache/vaultapp}/bin"

# The version comes from go.mod so there is exactly one place to bump it.
helm_ver="$(awk '$1 == "helm.sh/helm/v4" && $2 ~ /^v/ { print $2; exit }' "$mod/go.mod")"
[[ -n $helm_ver ]] || { echo "ensure-helm: helm.sh/helm/v4 not found in $mod/go.mod" >&2; exit 1; }
helm="$bin/helm-$helm_ver"

# A complete binary runs and reports the pinned version (the -X below sets it).
runs() { [[ -x $1 ]] && [[ "$("$1" version --template '{{.Version}}' 2>/dev/null)" == "$helm_ver" ]]; }

if runs "$helm"; then
  echo "$helm"
  exit 0
fi

mkdir -p "$bin"
# Test files run in parallel and each may call this; build once.
exec 9>"$bin/.ensure-helm.lock"
flock 9

if ! runs "$helm"; then
  echo "ensure-helm: building helm $helm_ver from helm.sh/helm/v4/cmd/helm (minutes on a cold cache)" >&2
  start=$SECONDS
  tmp="$(mktemp "$helm.tmp.XXXXXX")"
  v=helm.sh/helm/v4/internal/version
  # -mod=readonly: go.sum in the repo is the pin; never rewrite it during a test run.
  # Without -X helm reports "v4.3" with no patch level, and runs() above could not tell builds apart.
  CGO_ENABLED=0 go -C "$mod" build -mod=readonly -trimpath \
    -ldflags "-s -w -X $v.version=$helm_ver -X $v.gitTreeState=clean" -o "$tmp" helm.sh/helm/v4/cmd/helm >&2 ||
    { rm -f "$tmp"; exit 1; }
  mv -f "$tmp" "$helm" # rename is atomic, so a concurrent caller never sees half a file
  runs "$helm" || { echo "ensure-helm: $helm does not run or does not report $helm_ver" >&2; exit 1; }
  echo "ensure-helm: built $helm in $((SECONDS - start))s" >&2
fi
echo "$helm"
