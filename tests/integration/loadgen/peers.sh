#!/usr/bin/env bash
# loadgen against real peers: HdrHistogram's Java implementation reads loadgen's histograms and
# writes a log loadgen reads; headless Chromium renders `loadgen report --format html`.
#
#   peers.sh LOADGEN PW_TESTSERVER HDRPEER_JAVA
#
# Prints one line per check and ends with "N passed, M failed"; exits non-zero on any failure.
set -uo pipefail
loadgen=${1:?usage: peers.sh LOADGEN PW_TESTSERVER HDRPEER_JAVA}
server_bin=${2:?}
peer=${3:?}
jar=/usr/share/java/hdrhistogram.jar
tmp=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

. "$(dirname "$0")/../lib.sh"
# same NAME A B: the two strings must be equal.
same() { if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $3"$'\n'"    got:      $2"; fi; }

"$server_bin" --workers 1 >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
for _ in $(seq 1 200); do grep -q listening "$tmp/server.out" && break; sleep 0.05; done
port=$(sed -n 's/.*"listening":"[^"]*:\([0-9]*\)".*/\1/p' "$tmp/server.out")
[ -n "$port" ] || { echo "not ok - pw-testserver did not start"; echo "0 passed, 1 failed"; exit 1; }
url=http://127.0.0.1:$port

# Two runs: closed loop, and open loop with per-request results.
"$loadgen" --no-progress --json -n 3000 -c 4 -t 2 "$url/" >"$tmp/a.json" || not_ok "closed-loop run" "$(cat "$tmp/a.json")"
"$loadgen" --no-progress --json -R 400 -d 2s -c 4 -t 1 --results "$tmp/b.jsonl" "$url/sleep/2" >"$tmp/b.json" ||
  not_ok "open-loop run"

# 1. HdrHistogram (Java) decodes loadgen's "hist" and computes the same percentiles. Our JSON has
# milliseconds with microsecond precision; HdrHistogram's values are the recorded microseconds.
if command -v java >/dev/null && [ -f "$jar" ]; then
  for f in a b; do
    ours=$(jq -r '.latency | [.count, (.p50, .p90, .p99, ."p99.9", ."p99.99", ."p99.999" | . * 1000 | round)] | map(tostring) | join(" ")' "$tmp/$f.json")
    theirs=$(java -cp "$jar" "$peer" decode "$(jq -r .latency.hist "$tmp/$f.json")" 2>&1)
    # HdrHistogram reports a percentile as the top of its bucket; loadgen caps it at the exact
    # max, which HdrHistogram's encoding does not carry: compare with that cap applied.
    ourmax=$(jq -r '.latency.max * 1000 | round' "$tmp/$f.json")
    capped=$(awk -v m="$ourmax" '{ printf "%s", $1; for (i = 2; i <= 7; i++) printf " %d", ($i > m ? m : $i); print "" }' <<<"$theirs")
    same "HdrHistogram decodes run $f's histogram: count and p50..p99.999 agree" "$capped" "$ours"
    # HdrHistogram's max is the highest value equivalent to ours (the same 1/1024 bucket).
    theirmax=$(cut -d' ' -f8 <<<"$theirs")
    if [ -n "$theirmax" ] && [ "$theirmax" -ge "$ourmax" ] && [ $((theirmax - ourmax)) -le $((ourmax / 1000 + 1)) ]; then
      ok "HdrHistogram's max ($theirmax us) is the top of the bucket of ours ($ourmax us)"
    else
      not_ok "max agrees" "ours $ourmax, HdrHistogram $theirmax"
    fi
  done
  # 2. A log written by HdrHistogram's HistogramLogWriter is read by loadgen report.
  theirs=$(java -cp "$jar" "$peer" write-log "$tmp/java.hlog" 2>&1)
  "$loadgen" report --json "$tmp/java.hlog" >"$tmp/hlog.json" 2>"$tmp/hlog.err"
  ours=$(jq -r '.latency | [.count, (.p50, .p90, .p99, ."p99.9", ."p99.99", ."p99.999" | . * 1000 | round)] | map(tostring) | join(" ")' "$tmp/hlog.json")
  same "loadgen reads HdrHistogram's interval log: count and p50..p99.999 agree" "$ours" "$(cut -d' ' -f1-7 <<<"$theirs")"
  same "the log's three intervals are three timeline seconds" "$(jq '.timeline | length' "$tmp/hlog.json")" "3"
else
  not_ok "java and $jar are needed (scripts/install-deps installs default-jre-headless and libhdrhistogram-java)"
fi

# 3. The HTML report renders in headless Chromium: the three plots have their lines, and the
# screenshot is not blank.
"$loadgen" report --format html --title "peers" -o "$tmp/report.html" "$tmp/a.json" "$tmp/b.jsonl"
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$chrome" ]; then
  flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --hide-scrollbars
         --user-data-dir="$tmp/chrome")
  timeout 60 "$chrome" "${flags[@]}" --dump-dom "file://$tmp/report.html" >"$tmp/dom.html" 2>"$tmp/chrome.err"
  for id in latency-by-percentile throughput-over-time p99-over-time; do
    # Each chart's polylines, with at least two points each.
    n=$(awk -v id="$id" '/<svg /{on = index($0, "id=\"" id "\"") > 0} on && /<polyline class="series"/' "$tmp/dom.html" |
        grep -cE 'points="[0-9.]+,[0-9.]+ [0-9.]+,[0-9.]+')
    if [ "$n" -ge 2 ]; then ok "Chromium's DOM has the $id plot with $n lines"; else not_ok "$id plot in the DOM" "$n lines; $(head -c 300 "$tmp/chrome.err")"; fi
  done
  timeout 60 "$chrome" "${flags[@]}" --window-size=1000,1500 --screenshot="$tmp/shot.png" "file://$tmp/report.html" \
    >/dev/null 2>>"$tmp/chrome.err"
  # Decode the PNG (zlib + row filters) and measure it: how much is not white, how many colours.
  stats=$(node -e '
    const fs = require("fs"), zlib = require("zlib");
    const b = fs.readFileSync(process.argv[1]);
    let p = 8, w, h, ct, idat = [];
    while (p < b.length) {
      const len = b.readUInt32BE(p), type = b.toString("ascii", p + 4, p + 8), d = b.subarray(p + 8, p + 8 + len);
      if (type === "IHDR") { w = d.readUInt32BE(0); h = d.readUInt32BE(4); ct = d[9]; if (d[8] !== 8) throw "bit depth"; }
      if (type === "IDAT") idat.push(d);
      p += 12 + len;
    }
    const bpp = ct === 6 ? 4 : ct === 2 ? 3 : 0;
    if (!bpp) throw "colour type " + ct;
    const raw = zlib.inflateSync(Buffer.concat(idat)), stride = w * bpp;
    let prev = Buffer.alloc(stride), nonwhite = 0; const colours = new Set();
    for (let y = 0; y < h; y++) {
      const f = raw[y * (stride + 1)], row = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
      for (let i = 0; i < stride; i++) {
        const a = i >= bpp ? row[i - bpp] : 0, up = prev[i], c = i >= bpp ? prev[i - bpp] : 0;
        let v = row[i];
        if (f === 1) v += a; else if (f === 2) v += up; else if (f === 3) v += (a + up) >> 1;
        else if (f === 4) { const pp = a + up - c, pa = Math.abs(pp - a), pb = Math.abs(pp - up), pc = Math.abs(pp - c);
                            v += pa <= pb && pa <= pc ? a : pb <= pc ? up : c; }
        row[i] = v & 255;
      }
      for (let x = 0; x < w; x++) {
        const r = row[x * bpp], g = row[x * bpp + 1], bl = row[x * bpp + 2];
        if (r < 240 || g < 240 || bl < 240) nonwhite++;
        colours.add((r << 16) | (g << 8) | bl);
      }
      prev = row;
    }
    console.log(w, h, (nonwhite / (w * h)).toFixed(4), colours.size);
  ' "$tmp/shot.png" 2>&1)
  read -r w h frac colours <<<"$stats"
  if [ "${w:-0}" -ge 900 ] && awk -v f="${frac:-0}" -v c="${colours:-0}" 'BEGIN { exit !(f > 0.01 && c > 20) }'; then
    ok "the screenshot (${w}x${h}) is not blank: $frac of the pixels are not white, $colours colours"
  else
    not_ok "screenshot is not blank" "$stats"
  fi
else
  not_ok "chromium is needed (scripts/install-deps installs it)"
fi

kill -TERM "$server_pid" 2>/dev/null
wait "$server_pid" 2>/dev/null
server_pid=
finish
