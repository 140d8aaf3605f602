#!/usr/bin/env bash
# System packages the test suite needs beyond Python: Debian's Chromium (the demo's browser tests) and
# EGL + Mesa (the fast headless renderer, compared against the pure-torch one). `make test` runs this first.
#
# Installed when missing and this user may install packages (root, or passwordless sudo, with apt-get);
# otherwise one line says which command to run, and the exit code is 1 so nothing else starts.
set -euo pipefail

PACKAGES=(chromium libegl1 libgl1 libegl-mesa0 libgl1-mesa-dri)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for pkg in "${PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
    done
else
    # not Debian: accept any Chromium on PATH and any libEGL the loader finds
    command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
    ldconfig -p 2>/dev/null | grep -q 'libEGL\.so\.1' || missing+=(libegl1)
fi
[[ ${#missing[@]} -eq 0 ]] && exit 0

command_line="apt-get install -y --no-install-recommends ${missing[*]}"
if ! command -v apt-get >/dev/null 2>&1; then
    echo "make test: missing system packages (${missing[*]}); install Chromium and EGL/Mesa with your package manager, then rerun" >&2
    exit 1
fi
if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "make test: missing system packages; run: sudo apt-get update && sudo $command_line" >&2
    exit 1
fi
echo "make test: installing ${missing[*]} (apt-get)"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
