#!/usr/bin/env bash
# Installs what the end-to-end tests need, idempotently (docs/TESTING.md):
#   - Debian packages: chromium (the browser playwright-core drives), ripgrep (seeds code-server's
#     rg download), libkrb5-dev (code-server's native `kerberos` module builds against it);
#   - code-server 4.100.3 (VS Code 1.100.3; the last release that runs on Node 20) in its own
#     folder outside the repository, shared between clones: $MOE_LENS_E2E_CACHE (default
#     ~/.cache/moe-lens-e2e)/code-server-4.100.3.
# Recipe and reasons: docs/TESTING.md, "End to end".
# Prints the code-server binary path on its last line.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
# @vscode/ripgrep version that code-server 4.100.3 depends on, and the rg release it downloads.
RIPGREP_PKG_VERSION=1.15.11
RIPGREP_ASSET=ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz

CACHE="${MOE_LENS_E2E_CACHE:-$HOME/.cache/moe-lens-e2e}"
PREFIX="$CACHE/code-server-$CODE_SERVER_VERSION"
BIN="$PREFIX/node_modules/.bin/code-server"
# code-server writes a default config.yaml on every start: keep it out of ~/.config.
export XDG_CONFIG_HOME="$CACHE/config"

log() { echo "[e2e setup] $*" >&2; }

# 1. Debian packages.
missing=()
command -v chromium >/dev/null || missing+=(chromium)
command -v rg >/dev/null || missing+=(ripgrep)
dpkg -s libkrb5-dev >/dev/null 2>&1 || missing+=(libkrb5-dev)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    log "missing ${missing[*]}: install them (apt-get install -y ${missing[*]}) or run as root"
    exit 1
  fi
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. code-server, unless this exact version is already installed and starts.
if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q "^$CODE_SERVER_VERSION "; then
  log "code-server $CODE_SERVER_VERSION already installed in $PREFIX"
else
  # @vscode/ripgrep's postinstall downloads rg from GitHub, which is unreachable here: seed its
  # download cache (in Node's os.tmpdir()) with Debian's rg packed the way the release is.
  T=$(node -p "require('os').tmpdir()")
  CACHED="$T/vscode-ripgrep-cache-$RIPGREP_PKG_VERSION/$RIPGREP_ASSET"
  if [ ! -s "$CACHED" ]; then
    log "seeding the ripgrep download cache from $(command -v rg)"
    mkdir -p "$T/rg" "$(dirname "$CACHED")"
    cp "$(command -v rg)" "$T/rg/rg"
    tar czf "$CACHED" -C "$T/rg" rg
  fi
  log "npm install code-server@$CODE_SERVER_VERSION into $PREFIX (a few minutes)"
  rm -rf "$PREFIX"
  mkdir -p "$PREFIX"
  (
    cd "$PREFIX"
    echo '{ "name": "moe-lens-e2e-code-server", "private": true }' > package.json
    npm_config_yes=true npm install --unsafe-perm --no-audit --no-fund \
      "code-server@$CODE_SERVER_VERSION" >&2
  )
  if ! "$BIN" --version >&2; then
    log "code-server was installed but does not start: $BIN"
    exit 1
  fi
fi
echo "$BIN"
