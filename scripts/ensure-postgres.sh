#!/usr/bin/env bash
# Prints the bin directory of a PostgreSQL server (the one holding initdb and postgres)
# for the tests, installing Debian's `postgresql` package on first use. Idempotent: a
# machine that has the binaries only prints the directory.
#
# The tests start their own throwaway servers (test/support/postgres.ts); the cluster
# Debian's packaging would create and start is never wanted. So the install asks
# postgresql-common not to create the "main" cluster, and keeps services from starting
# (policy-rc.d answering 101, unless the machine already has a policy-rc.d of its own).
# Needs root for the install (CI and the tests run as root). Progress goes to stderr;
# stdout carries only the path.
set -euo pipefail

say() { echo "ensure-postgres: $*" >&2; }

find_bindir() { # the newest major version with a server binary
  local d best=
  for d in /usr/lib/postgresql/*/bin; do
    [[ -x $d/postgres && -x $d/initdb ]] && best="$(printf '%s\n%s\n' "$best" "$d" | sed '/^$/d' | sort -V | tail -n1)"
  done
  [[ -n $best ]] && echo "$best"
}

runs() { [[ -n ${1:-} ]] && "$1/postgres" --version >/dev/null 2>&1; }

install_postgres() {
  if [[ $(id -u) -ne 0 ]]; then
    say "PostgreSQL server binaries not found, and installing them needs root: apt-get install postgresql"
    exit 1
  fi
  command -v apt-get >/dev/null || { say "no apt-get: install PostgreSQL server binaries under /usr/lib/postgresql/<version>/bin"; exit 1; }

  # No "main" cluster: postgresql-common reads this before the server package's postinst.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/50-vaultapp-no-main-cluster.conf

  # No service start during the install; a policy-rc.d already there is left as it is.
  local policy=/usr/sbin/policy-rc.d
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# written by ensure-postgres.sh for the duration of an apt-get install\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi

  local start=$SECONDS
  say "installing Debian's postgresql package (apt-get update + install)"
  export DEBIAN_FRONTEND=noninteractive
  # Waits for another apt/dpkg (a colleague's install) instead of failing on its lock.
  apt-get -o DPkg::Lock::Timeout=600 update >&2
  apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold postgresql >&2
  say "installed in $((SECONDS - start))s"
}

# Fast path without the lock: installed already.
bindir="$(find_bindir || true)"
if ! runs "$bindir"; then
  cache="${VAULTAPP_CACHE:-$HOME/.cache/vaultapp}"
  mkdir -p "$cache"
  # Test files run in parallel and each may call this: one install at a time.
  exec 9>"$cache/.ensure-postgres.lock"
  flock 9
  bindir="$(find_bindir || true)"
  runs "$bindir" || install_postgres
  bindir="$(find_bindir || true)"
  runs "$bindir" || { say "no runnable postgres under /usr/lib/postgresql/*/bin after the install"; exit 1; }
fi

# The server refuses to run as root: the tests run it as the postgres user, which the
# package creates. Make sure it exists when the binaries came some other way.
if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
  say "creating the postgres system user"
  useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres >&2
fi

say "$("$bindir/postgres" --version)"
echo "$bindir"
