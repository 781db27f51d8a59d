#!/usr/bin/env bash
# Prints the path of a Vault server binary for the tests. A binary the user already has is
# used when it runs and reports a supported version: $VAULT_BIN, else `vault` or OpenBao's
# `bao` on PATH (not with VAULTAPP_PINNED_ONLY=1, as in CI). Otherwise the Go module pinned
# in tools/vault-server/go.mod is built on first use, cached outside the clone, named by
# version, so a fresh clone reuses it and a version bump rebuilds.
# Progress and the choice made go to stderr; stdout carries only the path.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$root/scripts/lib/installed-bin.sh"

# What the hook and the test harness use (KV v1/v2, the database engine, JWT and Kubernetes
# auth, sys/internal/ui/mounts, the file audit device, -dev-tls with -dev-tls-cert-dir) is
# in every Vault from 1.15 and every OpenBao from 2.0. A new major version is not assumed.
supported="Vault >= 1.15 < 2, OpenBao >= 2.0 < 3"
check_vault() {
  local line v
  line="$(installed_version "$1" version)" || { echo "$line"; return 1; }
  if [[ $line =~ ^(Vault|OpenBao)\ v([0-9]+\.[0-9]+\.[0-9]+) ]]; then
    v=${BASH_REMATCH[2]}
    case ${BASH_REMATCH[1]} in
      Vault) version_in_range "$v" 1.15.0 2 ;;
      OpenBao) version_in_range "$v" 2.0.0 3 ;;
    esac && { echo "${BASH_REMATCH[1]} v$v"; return 0; }
    echo "reports ${BASH_REMATCH[1]} v$v; supported: $supported"
    return 1
  fi
  echo "'version' printed no Vault or OpenBao version: $line"
  return 1
}

if find_installed ensure-vault VAULT_BIN check_vault vault bao; then exit 0; fi
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
echo "ensure-vault: using $out (the pinned Vault $version)" >&2
echo "$out"
