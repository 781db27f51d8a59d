#!/usr/bin/env bash
# Prints the path of a Node.js binary of the release line the container image runs
# (Dockerfile: node:26), for the test that starts the built hook with it. The tests
# and the tools run on the machine's Node 20; the image does not, so one test runs the
# hook on what it will really run on. The binary comes from the npm registry (the
# official node-linux-<arch> package), cached under ~/.cache/vaultapp. Progress goes to
# stderr; stdout carries only the path.
set -euo pipefail

VERSION="${VAULTAPP_NODE_LTS_VERSION:-26.12.1}"
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
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "node-linux-${ARCH}@${VERSION}" >/dev/null && tar xzf ./*.tgz)
[[ -x $work/package/bin/node ]] || { echo "ensure-node-lts: the package has no bin/node" >&2; exit 1; }
mkdir -p "$(dirname "$DIR")"
rm -rf "$DIR"
mv "$work/package" "$DIR"
"$BIN" --version >&2
echo "$BIN"
