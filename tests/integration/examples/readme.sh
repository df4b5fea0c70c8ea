#!/usr/bin/env bash
# Every ```sh block of README.md, run as written against the build's tools on loopback: each in
# its own network namespace (the README uses fixed ports), with the fixture its prose assumes
# (fixtures.sh: readme_<block>), every command's exit status checked (lib-examples.sh).
#   readme.sh SRC_DIR BUILD_DIR
set -uo pipefail
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
. "$here/lib-examples.sh"
ex_need
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Blocks that are not pipelines to run here, and why.
declare -A skip=(
  [two-commands]="make demo and make test themselves (make test runs this test)"
  [developing]="a benchmark (make bench runs it)"
  [install-from-a-package]="installs a package as root and runs systemd (package-deb tests the package)"
)

# Cut the blocks: $tmp/blocks/NN-ID where ID is the section's heading as a slug, -2, -3 for the
# second and third block of a section.
mkdir "$tmp/blocks"
awk -v dir="$tmp/blocks" '
  /^## / { h = tolower(substr($0, 4)); gsub(/[^a-z0-9]+/, "-", h); gsub(/^-|-$/, "", h); next }
  /^```sh$/ { n++; seen[h]++; id = h (seen[h] > 1 ? "-" seen[h] : ""); f = sprintf("%s/%02d-%s", dir, n, id); inb = 1; printf "" > f; next }
  /^```/ && inb { inb = 0; close(f); next }
  inb { print > f }' "$src/README.md"

. "$here/fixtures.sh"  # only to see which fixtures exist
for f in "$tmp"/blocks/*; do
  id=${f##*/}
  id=${id#*-}
  if [ -n "${skip[$id]:-}" ]; then
    echo "ok - readme: $id # SKIP ${skip[$id]}"
    continue
  fi
  fn=readme_${id//-/_}
  if ! declare -F "$fn" >/dev/null; then
    not_ok "readme: $id has a fixture" "add $fn to tests/integration/examples/fixtures.sh (or a reason to skip it to readme.sh)"
    continue
  fi
  ex_run "readme: $id" "$fn" "$f"
done
finish
