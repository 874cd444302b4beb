#!/usr/bin/env bash
# Builds the binaries the npm package carries in prebuilds/, for the targets
# named (default: all four):
#   linux-x64-glibc   the host's g++
#   linux-arm64-glibc Debian's aarch64-linux-gnu cross compilers
#   linux-x64-musl    the host's gcc/g++ against Debian's musl (musl-tools)
#   linux-arm64-musl  the aarch64 cross compilers against Debian's arm64 musl
#                     (musl-dev:arm64, unpacked into .cache/musl-arm64)
# Each lands in prebuilds/linux-<arch>/ as warren.<libc>.node (the name
# prebuildify --napi --name warren --tag-libc gives it, which node-gyp-build
# picks), warren-monitor.<libc> and warren-exec.<libc>
# (src/native/binding.ts picks those). N-API: one build serves every Node.
#
# The musl addon: musl has no libstdc++ of its own in Debian, so the C++ is
# compiled with GCC's libstdc++ headers over musl's C headers and linked
# against musl's libc with libstdc++.so.6/libgcc_s.so.1 as NEEDED: the musl
# Node that loads it (Alpine's, unofficial-builds') is itself linked to the
# distribution's libstdc++.so.6, whose symbol versions are GCC's, not the
# libc's. scripts/check-prebuilds.sh checks that every symbol it needs from
# the libc is one musl exports.
#
# Every target builds in its own copy of the sources under .cache/prebuild/,
# so build/ (the development build the tests use) is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(linux-x64-glibc linux-arm64-glibc linux-x64-musl linux-arm64-musl)

node_prefix=$(dirname "$(dirname "$(readlink -f "$(command -v node)")")")
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$node_prefix/include/node/node_api.h" ]; then
  export npm_config_nodedir="$node_prefix"
fi
gcc_major=$(gcc -dumpversion | cut -d. -f1)

# Debian's arm64 musl, unpacked (no foreign architecture is added to dpkg):
# apt reads the arm64 package lists into a private state directory.
musl_arm64() {
  local dest=$repo/.cache/musl-arm64
  [ -f "$dest/lib/aarch64-linux-musl/libc.so" ] && { echo "$dest"; return; }
  local state=$repo/.cache/apt-arm64
  mkdir -p "$state/lists/partial" "$state/archives/partial" "$dest"
  local opts=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64 -o Dir::State::Lists="$state/lists"
    -o Dir::Cache::Archives="$state/archives" -o Dir::State::status=/dev/null -o Debug::NoLocking=1)
  apt-get "${opts[@]}" update -qq >&2
  (cd "$state/archives" && apt-get "${opts[@]}" download musl:arm64 musl-dev:arm64 >&2)
  for deb in "$state"/archives/musl*_arm64.deb; do dpkg-deb -x "$deb" "$dest"; done
  echo "$dest"
}

# A gcc specs file that compiles against musl's headers and links with its
# crt files and libc (what musl-gcc does for the host), for $1 = the triplet
# directory name, $2 = the musl root, $3 its dynamic linker, $4 a directory
# of the kernel's uapi headers (musl has none; Alpine's linux-headers), $5
# the libgcc_s.so.1 a shared object is linked to (GCC's unwinder, which
# libstdc++ uses: one copy of it in the process).
musl_specs() {
  local triplet=$1 root=$2 ldso=$3 kinc=$4 gcc_s=$5 out=$6
  cat >"$out" <<EOF
%rename cpp_options old_cpp_options

*cpp_options:
-nostdinc -isystem $root/usr/include/$triplet -isystem $kinc -isystem include%s %(old_cpp_options)

*cc1:
%(cc1_cpu) -nostdinc -isystem $root/usr/include/$triplet -isystem $kinc -isystem include%s

*link_libgcc:
-L$root/lib/$triplet -L$root/usr/lib/$triplet -L .%s

*libgcc:
%{shared:$gcc_s} libgcc.a%s %{!shared:%:if-exists(libgcc_eh.a%s)}

*startfile:
%{!shared: $root/usr/lib/$triplet/Scrt1.o} $root/usr/lib/$triplet/crti.o crtbeginS.o%s

*endfile:
crtendS.o%s $root/usr/lib/$triplet/crtn.o

*link:
-dynamic-linker $ldso -nostdlib %{shared:-shared} %{static:-static} %{rdynamic:-export-dynamic}
EOF
}

build_target() {
  local target=$1 arch libc cross="" work
  arch=$(cut -d- -f2 <<<"$target")
  libc=$(cut -d- -f3 <<<"$target")
  case "$arch" in
    x64) cross="" ;;
    arm64) cross=aarch64-linux-gnu- ;;
    *) echo "prebuild: unknown architecture in $target" >&2; return 2 ;;
  esac
  work=$repo/.cache/prebuild/$target
  rm -rf "$work"
  mkdir -p "$work/scripts"
  cp -a binding.gyp package.json native "$work/"
  cp -a scripts/check-child-symbols.sh "$work/scripts/"
  ln -s "$repo/node_modules" "$work/node_modules"

  local cc=${cross}gcc cxx=${cross}g++
  local -a env=(AR=${cross}ar)
  if [ "$libc" = musl ]; then
    local triplet root ldso cxxinc cxxcfg asm gcc_s
    if [ "$arch" = x64 ]; then
      triplet=x86_64-linux-musl root="" ldso=/lib/ld-musl-x86_64.so.1 asm=/usr/include/x86_64-linux-gnu/asm gcc_s=/lib/x86_64-linux-gnu/libgcc_s.so.1
      cxxinc=/usr/include/c++/$gcc_major cxxcfg=/usr/include/x86_64-linux-gnu/c++/$gcc_major
    else
      triplet=aarch64-linux-musl root=$(musl_arm64) ldso=/lib/ld-musl-aarch64.so.1 asm=/usr/aarch64-linux-gnu/include/asm gcc_s=/usr/aarch64-linux-gnu/lib/libgcc_s.so.1
      cxxinc=/usr/aarch64-linux-gnu/include/c++/$gcc_major cxxcfg=/usr/aarch64-linux-gnu/include/c++/$gcc_major/aarch64-linux-gnu
    fi
    # The kernel's headers (linux-libc-dev), without glibc's beside them.
    mkdir -p "$work/kinc"
    ln -s /usr/include/linux /usr/include/asm-generic "$work/kinc/"
    ln -s "$asm" "$work/kinc/asm"
    musl_specs "$triplet" "$root" "$ldso" "$work/kinc" "$gcc_s" "$work/musl.specs"
    # libstdc++'s target configuration is glibc's: a copy that does not
    # promise glibc's pthread clock functions, whose C locale type is musl's
    # locale_t (the same struct __locale_struct *, so the same mangling).
    cp -a "$cxxcfg" "$work/cxxcfg"
    sed -i -E 's@^#define (_GLIBCXX_USE_PTHREAD_(COND_CLOCKWAIT|MUTEX_CLOCKLOCK|RWLOCK_CLOCKLOCK)) 1@/* musl: no \1 */@' \
      "$work/cxxcfg/bits/c++config.h"
    sed -i 's@typedef __locale_t\([[:space:]]*\)__c_locale;@typedef locale_t\1__c_locale;@' "$work/cxxcfg/bits/c++locale.h"
    # Its os_defines.h asks glibc's version: musl is like a recent glibc in
    # every respect it asks about (pthreads in libc, no obsolete isinf).
    sed -i -e 's@__GLIBC_PREREQ(@_WR_MUSL_IS_RECENT(@g' \
      -e 's@^#include <features.h>@&\n#define _WR_MUSL_IS_RECENT(major, minor) 1@' "$work/cxxcfg/bits/os_defines.h"
    grep -q 'typedef locale_t' "$work/cxxcfg/bits/c++locale.h" || { echo "prebuild: c++locale.h not as expected" >&2; return 1; }
    cxxinc="-isystem $cxxinc -isystem $work/cxxcfg"
    # Wrappers, so gyp's own flags follow; C++: libstdc++'s headers first
    # (its <cstdlib> include_next's musl's <stdlib.h>), and its runtime
    # linked after the objects.
    printf '#!/bin/sh\nexec %s -specs %s "$@"\n' "$cc" "$work/musl.specs" >"$work/cc"
    printf '#!/bin/sh\nexec %s -specs %s %s -Wl,--as-needed "$@"\n' "$cxx" "$work/musl.specs" "$cxxinc" >"$work/cxx"
    chmod +x "$work/cc" "$work/cxx"
    cc=$work/cc cxx=$work/cxx
  fi
  env+=(CC="$cc" CXX="$cxx" LINK="$cxx" CC_host=gcc CXX_host=g++)

  echo "prebuild: $target"
  (cd "$work" && env "${env[@]}" "$repo/node_modules/.bin/node-gyp" rebuild --arch="$arch" --jobs=max \
    >"$work/build.log" 2>&1) || { tail -40 "$work/build.log" >&2; echo "prebuild: $target failed (log: $work/build.log)" >&2; return 1; }

  local out=$repo/prebuilds/linux-$arch
  mkdir -p "$out"
  ${cross}strip --strip-unneeded -o "$out/warren.$libc.node" "$work/build/Release/warren.node"
  ${cross}strip -o "$out/warren-monitor.$libc" "$work/build/Release/warren-monitor"
  cp "$work/build/Release/warren-exec" "$out/warren-exec.$libc"
}

failed=0
pids=()
for t in "${targets[@]}"; do
  build_target "$t" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ $failed -eq 0 ] || exit 1
bash scripts/check-prebuilds.sh "${targets[@]}"
