#!/usr/bin/env bash
# The Debian package of `make deb` (packaging/CMakeLists.txt), built by CPack from this build
# tree's binaries into a scratch directory, then checked as an operator would get it:
#   - control fields and dependencies (dpkg-deb -I): dpkg-shlibdeps' versioned Depends on the
#     runtime libraries, libcurl4 (loaded with dlopen) recommended, the logrotate snippet a
#     conffile, the maintainer script present;
#   - contents (dpkg-deb -c): the binaries, compressed man pages, completions, systemd units, the
#     logrotate snippet, copyright, changelog and example configurations, nothing else;
#   - extracted into a scratch root (dpkg -x), each binary answers --version with the project's
#     version (no LD_LIBRARY_PATH: the package ships no library), the example configurations
#     pass --check, every unit passes `systemd-analyze verify` against that root, and logrotate
#     reads the snippet without an error;
#   - lintian reports no error and no warning.
#
#   deb.sh BUILD_DIR VERSION    (ctest: package-deb)
#
# Exits 77 (a skip for ctest) when cpack, dpkg-deb, systemd-analyze, lintian or logrotate is missing.
set -uo pipefail
export LC_ALL=C
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
build=$(cd "${1:?usage: deb.sh BUILD_DIR VERSION}" && pwd)
version=${2:?usage: deb.sh BUILD_DIR VERSION}
for tool in cpack dpkg-deb dpkg-shlibdeps systemd-analyze lintian logrotate; do
  command -v "$tool" >/dev/null || { echo "$tool not installed: skipped"; exit 77; }
done
tools=(gw-proxy ratelimitd certctl tracecat loadgen)
units=(gw-proxy.service ratelimitd.service certctl-serve.service)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# ---- build: CPack reuses the build tree's binaries (it installs them into its staging tree)
if cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/pkg" >"$work/cpack.log" 2>&1; then
  ok "cpack -G DEB"
else
  not_ok "cpack -G DEB" "$(tail -30 "$work/cpack.log")"
  finish
  exit 1
fi
arch=$(dpkg --print-architecture)
deb=$work/pkg/pipeworks_${version}_${arch}.deb
if [ -f "$deb" ]; then ok "package file $(basename "$deb")"; else not_ok "package file pipeworks_${version}_${arch}.deb" "$(ls "$work/pkg")"; finish; exit 1; fi

# ---- control
field() { dpkg-deb -f "$deb" "$1"; }
expect_field() {
  local got
  got=$(field "$1")
  if [ "$got" = "$2" ]; then ok "$1: $2"; else not_ok "$1: want '$2'" "got '$got'"; fi
}
expect_field Package pipeworks
expect_field Version "$version"
expect_field Architecture "$arch"
expect_field Section net
depends=$(field Depends)
# dpkg-shlibdeps writes a minimum version for each library (from its symbols file): proof that
# it ran on the binaries rather than a list typed here.
for lib in libc6 libstdc++6 libgcc-s1 libssl3 libuv1 zlib1g; do
  if grep -Eq "(^|, )${lib//+/\\+} \(>= [^)]+\)" <<<"$depends"; then ok "Depends: $lib with a minimum version"
  else not_ok "Depends: $lib with a minimum version" "$depends"; fi
done
if grep -q 'libcurl4' <<<"$(field Recommends)"; then ok "Recommends: libcurl4 (dlopen for OTLP export)"
else not_ok "Recommends: libcurl4" "$(field Recommends)"; fi
dpkg-deb -e "$deb" "$work/control"
if [ "$(cat "$work/control/conffiles" 2>/dev/null)" = /etc/logrotate.d/pipeworks ]; then ok "conffiles: /etc/logrotate.d/pipeworks"
else not_ok "conffiles: /etc/logrotate.d/pipeworks" "$(cat "$work/control/conffiles" 2>&1)"; fi
if [ -x "$work/control/postinst" ] && sh -n "$work/control/postinst"; then ok "postinst: an executable shell script"
else not_ok "postinst: an executable shell script" "$(ls -l "$work/control")"; fi

# ---- contents
dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|' | sort >"$work/contents"
want=()
for t in "${tools[@]}"; do
  want+=("/usr/bin/$t" "/usr/share/man/man1/$t.1.gz" "/usr/share/bash-completion/completions/$t"
         "/usr/share/zsh/vendor-completions/_$t" "/usr/share/fish/vendor_completions.d/$t.fish")
done
for p in gw-proxy.json certctl.json ratelimitd.conf loadgen.json; do want+=("/usr/share/man/man5/$p.5.gz"); done
for u in "${units[@]}"; do want+=("/lib/systemd/system/$u"); done
want+=(/usr/share/man/man7/pipeworks.7.gz /etc/logrotate.d/pipeworks /usr/share/doc/pipeworks/copyright
       /usr/share/doc/pipeworks/changelog.gz /usr/share/doc/pipeworks/README.Debian
       /usr/share/doc/pipeworks/examples/gw-proxy.json /usr/share/doc/pipeworks/examples/certctl.json
       /usr/share/doc/pipeworks/examples/ratelimitd/edge.yaml)
missing=()
for p in "${want[@]}"; do grep -qx -F "$p" "$work/contents" || missing+=("$p"); done
if [ ${#missing[@]} -eq 0 ]; then ok "contents: the ${#want[@]} expected files"; else not_ok "contents: missing files" "${missing[*]}"; fi
# Nothing else: every regular file is one of the expected ones (directories end in /).
extra=$(grep -v '/$' "$work/contents" | grep -vx -F -f <(printf '%s\n' "${want[@]}"))
if [ -z "$extra" ]; then ok "contents: no unexpected file"; else not_ok "contents: unexpected files" "$extra"; fi
if grep -q '\.so' "$work/contents"; then not_ok "no shared library shipped" "$(grep '\.so' "$work/contents")"; else ok "no shared library shipped"; fi

# ---- extracted into a scratch root
root=$work/root
dpkg -x "$deb" "$root"
for t in "${tools[@]}"; do
  out=$(env -i PATH=/usr/bin:/bin "$root/usr/bin/$t" --version 2>&1)
  if [[ $out == *"$version"* ]]; then ok "$t --version from the package: $out"; else not_ok "$t --version from the package" "$out"; fi
done
ex=$root/usr/share/doc/pipeworks/examples
check_example() {
  local out
  local what="${1##*/} ${*:2}"
  what=${what//$ex\//}
  if out=$("$@" 2>&1); then ok "example configuration: $what"; else not_ok "example configuration: $what" "$out"; fi
}
check_example "$root/usr/bin/gw-proxy" --check -c "$ex/gw-proxy.json"
check_example "$root/usr/bin/ratelimitd" check "$ex/ratelimitd"
# systemd-analyze verify --root: the unit's commands and the units it depends on are looked up in
# the scratch root. So the root gets this machine's system units (the targets every service is
# ordered against) and kill(1) (ExecReload), beside the package's files; --man=no: the man pages
# are checked above, man(1) cannot read them from a root.
cp -rn /lib/systemd/system/. "$root/lib/systemd/system/"
mkdir -p "$root/bin" && cp /bin/kill "$root/bin/kill"
for u in "${units[@]}"; do
  if out=$(systemd-analyze verify --man=no --root="$root" "$root/lib/systemd/system/$u" 2>&1) && [ -z "$out" ]; then
    ok "systemd-analyze verify $u"
  else
    not_ok "systemd-analyze verify $u" "$out"
  fi
  # The sandbox, as a number (lower is better; informational, the units' settings are the contract).
  echo "# systemd-analyze security $u: $(systemd-analyze security --offline=true --root="$root" "$root/lib/systemd/system/$u" 2>&1 | grep 'Overall exposure' | sed 's/.*: //')"
done

# logrotate's own reading of the snippet (--debug: nothing is rotated, no script runs).
if out=$(logrotate --debug --state "$work/logrotate.state" "$root/etc/logrotate.d/pipeworks" 2>&1) &&
  ! grep -qi 'error' <<<"$out"; then
  ok "logrotate reads /etc/logrotate.d/pipeworks"
else
  not_ok "logrotate reads /etc/logrotate.d/pipeworks" "$out"
fi

# ---- lintian: an error or a warning fails (the package carries no override)
if out=$(lintian --fail-on error,warning --display-level '>=warning' "$deb" 2>&1); then ok "lintian: no error, no warning"
else not_ok "lintian" "$out"; fi

finish
