#!/bin/sh
# The shared library exports only the public API: every defined dynamic symbol is libnorm_*
# (plus the version node LIBNORM_0); cpu_features, the kernels and the tables stay hidden.
#   exports.sh NM LIBNORM.so
nm=$1 lib=$2
syms=$("$nm" -D --defined-only "$lib" | awk '{print $NF}' | sed 's/@.*//' | sort -u)
if [ -z "$syms" ]; then
    echo "exports: no dynamic symbols in $lib"
    exit 1
fi
bad=$(printf '%s\n' "$syms" | grep -v -e '^libnorm_' -e '^LIBNORM_0$')
if [ -n "$bad" ]; then
    echo "exports: symbols outside the API:" $bad
    exit 1
fi
for want in libnorm_layernorm_f32 libnorm_rmsnorm_f32 libnorm_layernorm_f32_ex \
    libnorm_rmsnorm_f32_ex libnorm_active_isa libnorm_strerror libnorm_version \
    libnorm_version_string libnorm_layernorm_bf16_ex libnorm_rmsnorm_bf16_ex \
    libnorm_layernorm_f16_ex libnorm_rmsnorm_f16_ex libnorm_add_rmsnorm_f32_ex \
    libnorm_add_layernorm_f32_ex; do
    printf '%s\n' "$syms" | grep -qx "$want" || { echo "exports: $want missing"; exit 1; }
done
echo "exports: only the API:" $syms
