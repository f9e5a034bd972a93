#!/usr/bin/env bash
# One test file (or a few), with Node's test options in any order:
#   npm run test:one -- test/unit/engine/sampler.test.ts --test-name-pattern "top-p"
# Node reads its options only before the first file; this puts them there.
set -euo pipefail
cd "$(dirname "$0")/.."
files=()
opts=()
while [ $# -gt 0 ]; do
  case "$1" in
    --*=*) opts+=("$1") ;;
    --*)
      # A flag's value follows it unless the next word is another flag or a test file.
      if [ $# -gt 1 ] && [[ "$2" != --* && "$2" != *.ts ]]; then
        opts+=("$1" "$2")
        shift
      else
        opts+=("$1")
      fi
      ;;
    *) files+=("$1") ;;
  esac
  shift
done
[ ${#files[@]} -gt 0 ] || { echo 'usage: npm run test:one -- <test file>... [--test-name-pattern X]' >&2; exit 2; }
exec node --import tsx --test --test-reporter=spec "${opts[@]}" "${files[@]}"
