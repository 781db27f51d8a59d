#!/usr/bin/env bash
# Prints the path of a Vault server binary for the tests, building it from the Go module
# pinned in tools/vault-server/go.mod on first use. The binary is cached outside the
# clone, named by version, so a fresh clone reuses it and a version bump rebuilds.
# Progress goes to stderr; stdout carries only the path.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mod="$root/tools/vault-server"
bindir="${VAULTAPP_CACHE:-$HOME/.cache/vaultapp}/bin"

# The version comes from go.mod so there is exactly one place to bump it.
version="$(awk '$1 == "github.com/hashicorp/vault" && $2 ~ /^v/ { print $2; exit }' "$mod/go.mod")"
[[ -n $version ]] || { echo "ensure-vault: version not found in $mod/go.mod" >&2; exit 1; }
out="$bindir/vault-$version"

runs() { [[ -x $out ]] && "$out" version >/dev/null 2>&1; }

mkdir -p "$bindir"
# Test files run in parallel and each may call this; one cold build on 2 cores is slow enough.
exec 9>"$bindir/.ensure-vault.lock"
flock 9

if ! runs; then
  echo "ensure-vault: building vault $version from $mod (15-20 minutes on a cold cache)" >&2
  start=$SECONDS
  tmp="$(mktemp "$out.tmp.XXXXXX")"
  trap 'rm -f "$tmp"' EXIT
  # -mod=readonly: go.sum in the repo is the pin; never rewrite it during a test run.
  CGO_ENABLED=0 go -C "$mod" build -mod=readonly -trimpath -ldflags "-s -w" -o "$tmp" github.com/hashicorp/vault >&2
  mv -f "$tmp" "$out" # rename is atomic, so a concurrent caller never sees half a file
  echo "ensure-vault: built $out ($(du -h "$out" | cut -f1)) in $((SECONDS - start))s" >&2
fi

runs || { echo "ensure-vault: $out does not run" >&2; exit 1; }
echo "$out"
