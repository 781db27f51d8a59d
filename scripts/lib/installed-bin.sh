# Sourced by scripts/ensure-vault.sh and scripts/ensure-kube.sh: finds a binary the user
# already has, so that a machine with Vault (or kube-apiserver, etcd) installed skips the
# build of the pinned version.
#
#   find_installed WHO VAR CHECK NAME...
#
# Candidates, in order: the path in the environment variable VAR, then each NAME found on
# PATH. Each is accepted only if `CHECK <path>` succeeds; CHECK prints what the binary is
# ("Vault v1.21.0") on success, or why it is not acceptable on failure. The first accepted
# candidate's path goes to stdout; every decision goes to stderr, prefixed with WHO.
# Returns 1 (printing nothing on stdout) when no candidate is accepted, and always when
# VAULTAPP_PINNED_ONLY=1 (CI: build and use the pinned versions only, reproducibly).

find_installed() {
  local who=$1 var=$2 check=$3 name cand from what
  shift 3
  if [[ ${VAULTAPP_PINNED_ONLY:-} == 1 ]]; then
    [[ -n ${!var:-} ]] && echo "$who: VAULTAPP_PINNED_ONLY=1: ignoring $var=${!var}" >&2
    return 1
  fi
  local -a cands=() froms=()
  if [[ -n ${!var:-} ]]; then cands+=("${!var}"); froms+=("$var"); fi
  for name in "$@"; do
    if cand="$(type -P "$name")"; then cands+=("$cand"); froms+=("$name on PATH"); fi
  done
  local i
  for i in "${!cands[@]}"; do
    cand=${cands[$i]} from=${froms[$i]}
    if what="$("$check" "$cand")"; then
      echo "$who: using $cand ($what, from $from)" >&2
      echo "$cand"
      return 0
    fi
    echo "$who: skipping $cand (from $from): $what" >&2
  done
  return 1
}

# installed_version PATH ARG...: the first line of what `PATH ARG...` prints, or a reason
# on stdout and status 1 when it is not an executable file or does not run within 10 s.
installed_version() {
  local bin=$1 out rc=0
  shift
  [[ -f $bin ]] || { echo "no such file"; return 1; }
  [[ -x $bin ]] || { echo "not executable"; return 1; }
  out="$(timeout 10 "$bin" "$@" 2>&1)" || rc=$?
  if ((rc != 0)); then
    echo "'$(basename "$bin") $*' failed (exit $rc): $(head -n1 <<<"$out")"
    return 1
  fi
  head -n1 <<<"$out"
}

# version_in_range HAVE MIN BELOW: MIN <= HAVE < BELOW, comparing dotted versions.
version_in_range() {
  local have=$1 min=$2 below=$3
  [[ "$(printf '%s\n%s\n' "$min" "$have" | sort -V | head -n1)" == "$min" ]] || return 1
  [[ "$(printf '%s\n%s\n' "$have" "$below" | sort -V | head -n1)" == "$have" && $have != "$below" ]]
}
