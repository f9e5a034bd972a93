#!/usr/bin/env bash
# The whole test suite, idempotent: installs what the tests need, builds, checks, runs.
# Ends with the test runner's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent typecheck
npm run --silent lint
npm run --silent format:check
npm run --silent build
# WebGPU on software Vulkan (docs/WEBGPU.md): install lavapipe when we can (root + apt); in CI the
# WebGPU tests must run rather than skip.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then bash scripts/install-webgpu.sh; fi
if [ "${CI:-}" = true ]; then export MOE_LENS_REQUIRE_WEBGPU=1; fi
# The network-isolation test traces the CLI and the engine host with strace (docs/SECURITY.md):
# install it when we can; without it the test skips with a message, except in CI, where it fails.
if ! command -v strace >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends strace >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends strace >/dev/null; } ||
    echo 'test.sh: could not install strace (the network-isolation test skips; in CI it fails)' >&2
fi
node --import tsx --test --test-reporter=spec $(find test/unit -name "*.test.ts" | sort)
# @vscode/test-electron (skips without network), then the real VS Code end to end: code-server +
# Chromium with the packaged extension and the default model (installs its own packages).
npm run --silent test:electron
npm run --silent test:e2e
