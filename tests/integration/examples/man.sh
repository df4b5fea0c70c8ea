#!/usr/bin/env bash
# Every man page EXAMPLES block marked runnable (a `.\" runnable` line before its .nf or .EX; see
# CONTRIBUTING.md), run as written against the build's tools on loopback. The runnable blocks of
# a page run in order in one set of namespaces, one after the other as a reader types them (the
# second may use what the first made), with the page's fixture (fixtures.sh: man_<page>).
#   man.sh SRC_DIR BUILD_DIR
set -uo pipefail
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-examples.sh"
ex_need
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

. "$here/fixtures.sh"  # only to see which fixtures exist
for page in "$src"/man/*.[1-9]; do
  name=${page##*/}
  # The marked blocks, roff escapes undone (\- \e \(aq \(dq \&); an error when a marker has no
  # block after it.
  if ! awk '
      /^\.\\" runnable[ \t]*$/ { if (want) exit 1; want = 1; next }
      want && /^\.(nf|EX)([ \t]|$)/ { want = 0; inb = 1; n++; print "# example " n; next }
      inb && /^\.(fi|EE)([ \t]|$)/ { inb = 0; print ""; next }
      inb { print; next }
      want && /^\.SH/ { exit 1 }
      END { if (want) exit 1 }' "$page" >"$tmp/$name.roff"; then
    not_ok "man: $name: each runnable marker is followed by an .nf or .EX block"
    continue
  fi
  if [ ! -s "$tmp/$name.roff" ]; then
    echo "ok - man: $name # SKIP no example marked runnable"
    continue
  fi
  sed -e 's/\\-/-/g' -e "s/\\\\(aq/'/g" -e 's/\\(dq/"/g' -e 's/\\&//g' -e 's/\\e/\\/g' "$tmp/$name.roff" >"$tmp/$name.sh"
  fn=man_${name//[-.]/_}
  if ! declare -F "$fn" >/dev/null; then
    not_ok "man: $name has a fixture" "add $fn to tests/integration/examples/fixtures.sh"
    continue
  fi
  ex_run "man: $name ($(grep -c "^# example" "$tmp/$name.sh") blocks)" "$fn" "$tmp/$name.sh"
done
finish
