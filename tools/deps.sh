#!/bin/sh
# Install the Debian packages named on the command line that are not installed yet.
# Used by ./test.sh and ./bench.sh so that one command works on a fresh Debian 12 machine.
set -eu
missing=""
need_arm64=0
for p in "$@"; do
    case "$p" in *:arm64) need_arm64=1 ;; esac
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
SUDO=""
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "deps: need root (or sudo) to install:$missing" >&2; exit 1; }
    SUDO=sudo
fi
echo "deps: installing$missing" >&2
if [ "$need_arm64" = 1 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
    $SUDO dpkg --add-architecture arm64
fi
$SUDO apt-get update -qq >&2
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
