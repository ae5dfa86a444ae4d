#!/bin/sh
# The install test: `meson install` into a staging directory, then a consumer program found
# through pkg-config (plain, and with --define-prefix: the .pc is relocatable) compiles, links and
# runs against the staged library, not the build tree's.
#   install.sh BUILD_DIR SOURCE_DIR CC
set -eu
build=$1 src=$2 cc=$3
stage=$(mktemp -d "${TMPDIR:-/tmp}/libnorm-install.XXXXXX")
trap 'rm -rf "$stage"' EXIT
DESTDIR="$stage/root" meson install -C "$build" --no-rebuild --quiet
pc=$(find "$stage/root" -name libnorm.pc)
[ -n "$pc" ] || { echo "install: no libnorm.pc installed"; exit 1; }
# Move the installed tree: a relocatable .pc must not care where it ends up.
mv "$stage/root" "$stage/moved"
pcdir=$(dirname "$(find "$stage/moved" -name libnorm.pc)")
for mode in plain --define-prefix; do
    flags=$mode
    [ "$mode" = plain ] && flags=
    # shellcheck disable=SC2086
    cflags=$(PKG_CONFIG_PATH="$pcdir" pkg-config $flags --cflags libnorm)
    # shellcheck disable=SC2086
    libs=$(PKG_CONFIG_PATH="$pcdir" pkg-config $flags --libs libnorm)
    # shellcheck disable=SC2086
    libdir=$(PKG_CONFIG_PATH="$pcdir" pkg-config $flags --variable=libdir libnorm)
    echo "install ($mode): cflags '$cflags' libs '$libs'"
    [ -f "$libdir/libnorm.so" ] || { echo "install ($mode): no libnorm.so in libdir $libdir"; exit 1; }
    incdir=$(echo "${cflags#-I}" | sed "s/ *$//")
    [ -f "$incdir/libnorm.h" ] || { echo "install ($mode): no libnorm.h in $incdir"; exit 1; }
    # shellcheck disable=SC2086
    "$cc" -std=c11 -Wall -Werror -o "$stage/consumer" "$src/tests/install_consumer.c" $cflags $libs -lm
    # The staged library, not the build tree's, must be the one loaded.
    LD_LIBRARY_PATH="$libdir" ldd "$stage/consumer" | grep -q "$libdir/libnorm.so.0" ||
        { echo "install ($mode): the consumer does not load the staged libnorm"; exit 1; }
    LD_LIBRARY_PATH="$libdir" "$stage/consumer"
    [ "$(PKG_CONFIG_PATH="$pcdir" pkg-config --modversion libnorm)" = "$(sed -n "s/^  version : '\(.*\)',/\1/p" "$src/meson.build")" ] ||
        { echo "install: pkg-config --modversion does not match meson.build"; exit 1; }
done
echo "install: ok"
