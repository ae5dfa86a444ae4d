#!/bin/sh
# Write the ABI baseline of this version for each architecture's build that exists:
#   build/ (x86_64) and build-aarch64/ (the cross build), as ./test.sh makes them.
# Refuses to overwrite an existing baseline: a changed ABI gets a new version.
set -eu
cd "$(dirname "$0")/.."
version=$(sed -n "s/^  version : '\(.*\)',/\1/p" meson.build)
mkdir -p abi
for pair in build:x86_64 build-aarch64:aarch64; do
    dir=${pair%%:*} arch=${pair#*:}
    lib="$dir/libnorm.so.$version"
    [ -f "$lib" ] || { echo "abi-baseline: no $lib (run ./test.sh first); skipped $arch"; continue; }
    out="abi/libnorm-$version-$arch.abi"
    if [ -f "$out" ] && [ "${1:-}" != --force ]; then
        echo "abi-baseline: $out exists; a changed ABI needs a new version (or --force)"
        exit 1
    fi
    abidw --headers-dir include --drop-private-types --no-show-locs --no-comp-dir-path \
        --no-corpus-path --out-file "$out" "$lib"
    echo "abi-baseline: wrote $out"
done
