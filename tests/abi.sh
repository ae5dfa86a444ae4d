#!/bin/sh
# The ABI check: libnorm.so as built now against the baseline committed for this version and
# architecture (abi/libnorm-VERSION-ARCH.abi, written by abigail's abidw from a -g build). Any
# difference fails, additions included: an intended change bumps the version in meson.build and
# include/libnorm.h and adds the new baseline (tools/abi-baseline.sh) in the same commit.
#   abi.sh SOURCE_DIR LIBRARY VERSION ARCH
set -u
src=$1 lib=$2 version=$3 arch=$4
command -v abidiff >/dev/null 2>&1 || { echo "abi: abidiff not installed (Debian: abigail-tools)"; exit 77; }
base="$src/abi/libnorm-$version-$arch.abi"
if [ ! -f "$base" ]; then
    echo "abi: no baseline $base for version $version on $arch."
    echo "     If the version was bumped on purpose, run tools/abi-baseline.sh and commit the file."
    exit 1
fi
abidiff --headers-dir2 "$src/include" "$base" "$lib"
st=$?
if [ "$st" -ne 0 ]; then
    echo "abi: libnorm.so differs from $base (abidiff status $st)."
    echo "     An intended change bumps the version and adds a new baseline (tools/abi-baseline.sh)."
    exit 1
fi
echo "abi: $lib matches $base"
