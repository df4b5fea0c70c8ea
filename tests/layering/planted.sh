#!/usr/bin/env bash
# The layering check (scripts/check-layering) catches what it is for: on a copy of libcore, each
# planted violation below must make it fail with the message naming it, and the unmodified copy
# must pass. Run by ctest as layering-includes-planted.
#
#   tests/layering/planted.sh SOURCE_ROOT
set -uo pipefail
root=$(cd "${1:?usage: planted.sh SOURCE_ROOT}" && pwd)
check="$root/scripts/check-layering"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

fresh() {  # a clean copy of libcore in $work/tree
  rm -rf "$work/tree"
  mkdir -p "$work/tree"
  cp -r "$root/libcore" "$work/tree/libcore"
}

# expect NAME REGEX: the check fails (exit 1) on $work/tree and prints a line matching REGEX.
expect() {
  local name=$1 regex=$2 out rc
  out=$("$check" "$work/tree" 2>&1)
  rc=$?
  if [[ $rc -ne 1 ]]; then
    echo "FAIL: $name: check-layering exited $rc, expected 1; output:" >&2
    echo "$out" >&2
    failures=$((failures + 1))
  elif ! grep -Eq -- "$regex" <<<"$out"; then
    echo "FAIL: $name: no line matching /$regex/ in:" >&2
    echo "$out" >&2
    failures=$((failures + 1))
  else
    echo "ok: $name: $(grep -E -- "$regex" <<<"$out" | head -1)"
  fi
}

plant_include() {  # plant_include FILE LINE: add an #include line at the top of FILE
  sed -i "1i $2" "$work/tree/$1"
}

fresh
if ! out=$("$check" "$work/tree" 2>&1); then
  echo "FAIL: the unmodified copy does not pass:" >&2
  echo "$out" >&2
  exit 1
fi
echo "ok: unmodified copy passes"

# A module reaching down the table (base may use nothing).
fresh
plant_include libcore/src/base/strings.cpp '#include "pw/io/loop.h"'
expect "base includes io" '^libcore/src/base/strings\.cpp:1: includes "pw/io/loop\.h": base may not use io'

# A public header reaching a later module (http may not use proxy).
fresh
plant_include libcore/include/pw/http/message.h '#include "pw/proxy/filter.h"'
expect "http header includes proxy" 'pw/http/message\.h:1: includes "pw/proxy/filter\.h": http may not use proxy'

# An allowed edge that CMake does not declare (limit -> config).
fresh
plant_include libcore/src/limit/api.cpp '#include "pw/config/reader.h"'
expect "undeclared module" 'pw_module\(limit\) does not declare pw_config \(DEPS\), which libcore/src/limit/api\.cpp:1 includes'

# A declared module that no file uses (telemetry as it was: DEPS pw_io pw_config).
fresh
sed -i 's/^pw_module(telemetry DEPS pw_base$/pw_module(telemetry DEPS pw_base pw_io pw_config/' "$work/tree/libcore/CMakeLists.txt"
expect "declared, unused module" 'pw_module\(telemetry\) declares pw_config \(DEPS\), but no file of telemetry includes pw/config/'

# A declared dependency against the table (pki -> proxy).
fresh
sed -i 's/^pw_module(pki       DEPS pw_base /pw_module(pki       DEPS pw_base pw_proxy /' "$work/tree/libcore/CMakeLists.txt"
expect "declared edge against the table" 'pw_module\(pki\) declares pw_proxy, which is not above pki'

# Another module's private sources.
fresh
plant_include libcore/src/http/client.cpp '#include "tls/internal.h"'
expect "private header of another module" 'client\.cpp:1: includes "tls/internal\.h", a private header of module tls'

# A third-party library reached only through another module (nlohmann through config).
fresh
sed -i 's/^                    LIBS nlohmann_json::nlohmann_json ZLIB::ZLIB/                    LIBS ZLIB::ZLIB/' "$work/tree/libcore/CMakeLists.txt"
expect "undeclared library" 'pw_module\(telemetry\) does not declare nlohmann_json::nlohmann_json \(LIBS\)'

# A declared library that no file includes.
fresh
sed -i 's/^pw_module(io        DEPS pw_base LIBS PkgConfig::LIBUV)/pw_module(io        DEPS pw_base LIBS PkgConfig::LIBUV PkgConfig::RE2)/' "$work/tree/libcore/CMakeLists.txt"
expect "declared, unused library" 'pw_module\(io\) declares PkgConfig::RE2 \(LIBS\), but no file of io includes its headers'

# A module directory without a pw_module().
fresh
mkdir -p "$work/tree/libcore/src/discovery" && echo '#include "pw/base/result.h"' >"$work/tree/libcore/src/discovery/etcd.cpp"
expect "module without pw_module" 'libcore/src/discovery: no pw_module\(discovery\)'

if [[ $failures -ne 0 ]]; then
  echo "layering-includes-planted: $failures planted violation(s) not caught" >&2
  exit 1
fi
echo "layering-includes-planted: every planted violation caught"
