#!/usr/bin/env bash
# Checks the binaries scripts/prebuild.sh left in prebuilds/ for the targets
# named (default: all four): each is an ELF of its architecture; warren.node
# is a shared object needing its libc (libc.so.6 for glibc, libc.so for
# musl) and nothing beyond libstdc++/libgcc_s; warren-monitor asks for its
# libc's dynamic linker; warren-exec is static, with no interpreter and no
# libraries. For musl, every libc symbol a binary needs must be one musl's
# libc.so exports (the binaries are linked on a glibc host). Prints one line
# per binary; exits 1 naming what is wrong.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(linux-x64-glibc linux-arm64-glibc linux-x64-musl linux-arm64-musl)

status=0
fail() { echo "check-prebuilds: $*" >&2; status=1; }

needed() { readelf -dW "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' '; }
interp() { readelf -lW "$1" | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p'; }
# Undefined dynamic symbols without a version (libc's, under musl), less
# those Node itself exports (N-API's, libuv's).
plain_undefined() { nm -D --undefined-only "$1" 2>/dev/null | awk '$1 == "U" && $2 !~ /@/ && $2 !~ /^(napi_|uv_)/ { print $2 }' | sort -u; }

for t in "${targets[@]}"; do
  arch=$(cut -d- -f2 <<<"$t")
  libc=$(cut -d- -f3 <<<"$t")
  dir=prebuilds/linux-$arch
  case "$arch" in
    x64) machine="x86-64" march=x86_64 glibc_ld=/lib64/ld-linux-x86-64.so.2 ;;
    arm64) machine="ARM aarch64" march=aarch64 glibc_ld=/lib/ld-linux-$march.so.1 ;;
    *) fail "unknown target $t"; continue ;;
  esac
  case "$libc" in
    glibc) libc_so=libc.so.6 ld=$glibc_ld ;;
    musl) libc_so=libc.so ld=/lib/ld-musl-$march.so.1 ;;
    *) fail "unknown target $t"; continue ;;
  esac
  musl_lib=""
  if [ "$libc" = musl ]; then
    if [ "$arch" = x64 ]; then musl_lib=/lib/x86_64-linux-musl/libc.so; else musl_lib=$repo/.cache/musl-arm64/lib/aarch64-linux-musl/libc.so; fi
    [ -f "$musl_lib" ] || { fail "$t: musl's libc.so is not at $musl_lib"; musl_lib=""; }
  fi

  for name in warren.$libc.node warren-monitor.$libc warren-exec.$libc; do
    f=$dir/$name
    [ -f "$f" ] || { fail "$t: $f is missing"; continue; }
    desc=$(file -b "$f")
    [[ $desc == "ELF 64-bit LSB "*", $machine,"* ]] || fail "$f is not a $machine ELF: $desc"
    need=$(needed "$f")
    case "$name" in
      warren.*.node)
        [[ $desc == *"shared object"* ]] || fail "$f is not a shared object"
        for lib in $need; do
          case "$lib" in "$libc_so" | libstdc++.so.6 | libgcc_s.so.1 | libm.so.6) ;; *) fail "$f needs $lib" ;; esac
        done
        [[ " $need " == *" $libc_so "* ]] || fail "$f does not need $libc_so (needs: $need)" ;;
      warren-monitor.*)
        [ "$(interp "$f")" = "$ld" ] || fail "$f's interpreter is '$(interp "$f")', not $ld"
        for lib in $need; do [ "$lib" = "$libc_so" ] || fail "$f needs $lib"; done ;;
      warren-exec.*)
        [ -z "$(interp "$f")" ] && [ -z "$need" ] || fail "$f is not static (interpreter '$(interp "$f")', needs: $need)" ;;
    esac
    if [ -n "$musl_lib" ]; then
      # Versioned references are GCC's runtime (GLIBCXX_, CXXABI_, GCC_); a
      # GLIBC_ one means glibc leaked into the musl build.
      if nm -D --undefined-only "$f" 2>/dev/null | grep -q '@GLIBC_'; then fail "$f refers to glibc symbol versions"; fi
      missing=$(comm -23 <(plain_undefined "$f") <(nm -D --defined-only "$musl_lib" | awk '{ print $NF }' | sort -u))
      [ -z "$missing" ] || fail "$f needs symbols musl does not export: $(echo $missing)"
    fi
    echo "$f: $machine $libc ${need:+needs $need}$( [ -n "$(interp "$f")" ] && echo "interpreter $(interp "$f")")"
  done
done
exit $status
