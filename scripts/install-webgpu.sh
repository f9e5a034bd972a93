#!/usr/bin/env bash
# Installs Mesa's software Vulkan driver (lavapipe) so that onnxruntime-node's WebGPU execution
# provider runs on a machine without a GPU (docs/WEBGPU.md). Debian 12 (bookworm) ships Mesa 22.3,
# whose lavapipe Dawn refuses ("shaderUniform*ArrayDynamicIndexing required"), so on bookworm the
# packages come from bookworm-backports, on the same archive as the machine's own Debian sources.
# Newer Debian releases get them from their own suites.
#
# Idempotent, non-interactive, needs root. Exits at once when a usable driver is installed.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

PACKAGES=(mesa-vulkan-drivers libvulkan1)
# Oldest Mesa whose lavapipe Dawn accepts (bookworm's 22.3 is refused; backports has 25.x).
MIN_MESA=23
BACKPORTS_FILE=/etc/apt/sources.list.d/moe-lens-backports.sources

say() { echo "install-webgpu: $*"; }

installed_ok() {
  local v
  v=$(dpkg-query -W -f='${db:Status-Abbrev} ${Version}' mesa-vulkan-drivers 2>/dev/null) || return 1
  [[ $v == ii* ]] || return 1
  dpkg --compare-versions "${v#* }" ge "$MIN_MESA" || return 1
  dpkg-query -W -f='${db:Status-Abbrev}' libvulkan1 2>/dev/null | grep -q '^ii' || return 1
  ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1
}

if installed_ok; then
  say "already installed: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  say 'must run as root (apt-get install mesa-vulkan-drivers libvulkan1)' >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  say 'apt-get not found: install Mesa >= 23 lavapipe (Vulkan) with your package manager' >&2
  exit 1
fi

# shellcheck disable=SC1091
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
target=()
if [[ $codename == bookworm ]]; then
  target=(-t bookworm-backports)
  if ! grep -qsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
    /etc/apt/sources.list.d/*.sources; then
    # Same archive (URIs, keyring, components) as the machine's first Debian source.
    if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
      sed -n '1,/^$/p' /etc/apt/sources.list.d/debian.sources |
        sed -e 's/^Suites:.*/Suites: bookworm-backports/' -e '/^$/d' >"$BACKPORTS_FILE.tmp"
    elif [[ -f /etc/apt/sources.list ]]; then
      # One-line format: the first bookworm entry, options kept, suite replaced.
      line=$(grep -m1 -E '^deb\s.*\sbookworm\s' /etc/apt/sources.list || true)
      if [[ -z $line ]]; then
        say 'no bookworm entry in /etc/apt/sources.list to derive bookworm-backports from' >&2
        exit 1
      fi
      BACKPORTS_FILE=${BACKPORTS_FILE%.sources}.list
      sed -E 's/\sbookworm\s.*$/ bookworm-backports main/' <<<"$line" >"$BACKPORTS_FILE.tmp"
    else
      say 'no Debian apt sources found to derive bookworm-backports from' >&2
      exit 1
    fi
    if ! grep -qE '^Suites: bookworm-backports$| bookworm-backports main$' "$BACKPORTS_FILE.tmp"; then
      rm -f "$BACKPORTS_FILE.tmp"
      say 'could not derive a bookworm-backports source' >&2
      exit 1
    fi
    mv "$BACKPORTS_FILE.tmp" "$BACKPORTS_FILE"
    say "added $BACKPORTS_FILE:"
    sed 's/^/  /' "$BACKPORTS_FILE"
  fi
fi

apt-get update -qq
apt-get install -y -qq --no-install-recommends "${target[@]}" "${PACKAGES[@]}" >/dev/null

if ! installed_ok; then
  say "installed, but mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) \
is older than $MIN_MESA or has no lavapipe ICD" >&2
  exit 1
fi
say "installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)"
