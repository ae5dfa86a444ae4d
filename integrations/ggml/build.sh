#!/bin/sh
# Fetch the pinned llama.cpp (with ggml 0.23.0), apply libnorm's ggml patch and build, OUTSIDE
# this repository, the patched ggml (ggml-base, ggml-cpu linked against libnorm), libllama and
# llama-convert-llama2c-to-ggml, then our programs against them (conformance, decode, bench).
#
#   integrations/ggml/build.sh LIBNORM_BUILD_DIR
#
# LIBNORM_BUILD_DIR holds libnorm.so (a meson build of this repository); the header is this
# repository's include/libnorm.h. The llama.cpp source comes from the npm package
# node-llama-cpp@3.21.1 (its llama/gitRelease.bundle), through npm's cache.
#
# Everything goes to $LIBNORM_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/libnorm) under
# ggml-0.23.0/ (src/, build/, bin/), stamped with a key: the hash of the patch, the glue, this
# script and include/libnorm.h (which decides what the glue can route). A complete build with the
# same key is reused as it is (no rebuild, no ninja run); another key re-patches the pristine
# source and rebuilds incrementally (ggml-cpu only, as libllama does not change); our programs are
# recompiled when their source changed. The last line of stdout is
#   GGML_DIR=<that directory>
# with <dir>/bin/{conformance,decode,ggmlbench,llama-convert-llama2c-to-ggml} and the shared
# libraries in <dir>/build/bin (run with LD_LIBRARY_PATH=<dir>/build/bin:LIBNORM_BUILD_DIR).
# GGML_JOBS (default 2) sets the build's parallelism.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -eq 1 ] || { echo "usage: $0 LIBNORM_BUILD_DIR" >&2; exit 2; }
libnorm_build=$(cd "$1" && pwd)
[ -e "$libnorm_build/libnorm.so" ] || { echo "build.sh: no libnorm.so in $libnorm_build" >&2; exit 1; }

NPM_PKG=node-llama-cpp@3.21.1
GGML_VERSION=0.23.0
JOBS=${GGML_JOBS:-2}
cache_root=${LIBNORM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/libnorm}
key=$(cat "$here/build.sh" "$here/ggml-libnorm.patch" "$here/ggml-cpu-libnorm.cpp" \
          "$here/ggml-cpu-libnorm.h" "$root/include/libnorm.h" | sha256sum | cut -c1-16)
dir=$cache_root/ggml-$GGML_VERSION
mkdir -p "$cache_root"
# one build at a time per cache (a second ./test.sh waits for the first)
exec 9>"$cache_root/.ggml-$GGML_VERSION.lock"
flock 9

t0=$(date +%s)
if [ -f "$dir/.complete" ] && [ "$(cat "$dir/.complete")" = "$key" ]; then
    echo "ggml: cached, no rebuild ($dir, key $key)"
else
    if [ -f "$dir/.fetched" ] && [ -d "$dir/build" ]; then
        # the tree is there, built for another key (patch, glue or libnorm.h changed): restore the
        # pristine source and patch again; ninja then rebuilds only what changed (ggml-cpu)
        echo "ggml: key $key differs from the cached build: incremental rebuild in $dir"
        git -C "$dir/src" checkout -q -- .
        git -C "$dir/src" clean -qfd
    else
        echo "ggml: not cached: fetching and building from scratch in $dir"
        rm -rf "$dir"
        mkdir -p "$dir"
        # the source: npm pack (npm's cache makes this offline once fetched), then clone the bundle
        tgz=$cache_root/node-llama-cpp-3.21.1.tgz
        if [ ! -f "$tgz" ]; then
            tmp=$(mktemp -d)
            (cd "$tmp" && npm pack --silent "$NPM_PKG" >/dev/null)
            mv "$tmp"/node-llama-cpp-3.21.1.tgz "$tgz"
            rmdir "$tmp"
        fi
        tar -xzf "$tgz" -C "$dir" package/llama/gitRelease.bundle
        git clone -q "$dir/package/llama/gitRelease.bundle" "$dir/src" 2>/dev/null
        rm -rf "$dir/package"
        touch "$dir/.fetched"
    fi
    rm -f "$dir/.complete"
    v=$(sed -n 's/^set(GGML_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\)).*/\2/p' "$dir/src/ggml/CMakeLists.txt" |
        paste -sd.)
    [ "$v" = "$GGML_VERSION" ] || { echo "build.sh: expected ggml $GGML_VERSION, the bundle has $v" >&2; exit 1; }
    git -C "$dir/src" apply "$here/ggml-libnorm.patch"
    cp "$here/ggml-cpu-libnorm.cpp" "$here/ggml-cpu-libnorm.h" "$dir/src/ggml/src/ggml-cpu/"
    # GGML_NATIVE=ON: stock ggml at its best on this CPU (-march=native). ggml's own thread pool
    # (no OpenMP): its barriers, not libgomp's spinning, decide the thread timing. The libnorm
    # feature checks are re-run on every configure (-U): libnorm.h may have gained entry points.
    cmake -S "$dir/src" -B "$dir/build" -G Ninja -U 'GGML_LIBNORM_HAS_*' -DCMAKE_BUILD_TYPE=Release \
        -DGGML_NATIVE=ON -DGGML_OPENMP=OFF -DGGML_CCACHE=OFF -DLLAMA_BUILD_TESTS=OFF \
        -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF \
        -DLLAMA_BUILD_EXAMPLES=ON \
        -DGGML_LIBNORM_LIB="$libnorm_build/libnorm.so" -DGGML_LIBNORM_INCLUDE="$root/include" \
        >"$dir/configure.log" 2>&1 || { tail -30 "$dir/configure.log" >&2; exit 1; }
    grep 'libnorm routing' "$dir/configure.log" | sed 's/^-- /ggml: /'
    ninja -C "$dir/build" -j"$JOBS" ggml ggml-cpu llama llama-convert-llama2c-to-ggml \
        >"$dir/build.log" 2>&1 || { grep -E 'error|Error' "$dir/build.log" | head -30 >&2; exit 1; }
    echo "$key" >"$dir/.complete"
fi
echo "ggml: build step $(($(date +%s) - t0)) s"

# our programs (seconds to build)
mkdir -p "$dir/bin"
ln -sf ../build/bin/llama-convert-llama2c-to-ggml "$dir/bin/llama-convert-llama2c-to-ggml"
inc="-I$dir/src/ggml/include -I$dir/src/include -I$root/include"
libs="-L$dir/build/bin -lggml -lggml-base -lggml-cpu"
for prog in conformance decode ggmlbench; do
    src=$here/$prog.cpp
    [ -f "$src" ] || continue
    # rebuilt when the source differs from the copy kept next to the binary (or ggml was rebuilt)
    if [ ! -x "$dir/bin/$prog" ] || ! cmp -s "$src" "$dir/bin/$prog.cpp" ||
       [ "$dir/.complete" -nt "$dir/bin/$prog" ]; then
        extra=
        [ "$prog" = decode ] && extra=-lllama
        # shellcheck disable=SC2086
        g++ -std=c++17 -O2 -Wall -Wextra -o "$dir/bin/$prog" "$src" $inc $libs $extra -lpthread
        cp "$src" "$dir/bin/$prog.cpp"
    fi
done
echo "GGML_DIR=$dir"
