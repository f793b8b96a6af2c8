#!/usr/bin/env bash
# The demo: acd serve on the embedded defaults, bound to loopback, fed by
# acd flowgen with NetFlow v5, NetFlow v9, IPFIX and sFlow. Prints the
# records counted per format every few seconds; Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=./bin/acd
[ -x "$bin" ] || go build -o "$bin" ./cmd/acd

http=${ACD_DEMO_HTTP:-127.0.0.1:8080}
export ACD_HTTP_LISTEN=$http
export ACD_COLLECT_NETFLOW_LISTEN='["127.0.0.1:2055", "127.0.0.1:4739"]'
export ACD_COLLECT_SFLOW_LISTEN='["127.0.0.1:6343"]'
export ACD_LOG_FORMAT=${ACD_LOG_FORMAT:-text}
# Screening: acd never runs without its key. The demo's "domestic" space
# is part of what flowgen sends to, so inbound and transit both show.
mkdir -p .demo
[ -f .demo/screen.key ] || "$bin" keygen .demo/screen.key
export ACD_SCREEN_KEY_FILE=.demo/screen.key
export ACD_SCREEN_DOMESTIC_ADD='["172.16.0.0/26", "2001:db8:d::/48", "2001:db8:5::/120"]'

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "demo: stopping"
  for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

"$bin" serve 2>&1 | sed -u 's/^/[serve] /' &
pids+=($!)

host=${http%:*}; port=${http##*:}
metrics() {
  exec 3<>"/dev/tcp/$host/$port" || return 1
  printf 'GET /metrics HTTP/1.0\r\nHost: %s\r\n\r\n' "$http" >&3
  cat <&3
  exec 3<&-
}
for _ in $(seq 100); do metrics >/dev/null 2>&1 && break; sleep 0.1; done

"$bin" flowgen --quiet --format v5    --to 127.0.0.1:2055 --rate 2000 --duration 24h &
pids+=($!)
"$bin" flowgen --quiet --format v9    --to 127.0.0.1:2055 --rate 5000 --duration 24h --seed 2 &
pids+=($!)
"$bin" flowgen --quiet --format ipfix --to 127.0.0.1:4739 --rate 5000 --duration 24h --seed 3 --ipv6 0.3 &
pids+=($!)
"$bin" flowgen --quiet --format sflow --to 127.0.0.1:6343 --rate 3000 --duration 24h --seed 4 &
pids+=($!)

echo "demo: acd is collecting on 127.0.0.1:2055/4739 (NetFlow/IPFIX) and 6343 (sFlow)"
echo "demo: metrics at http://$http/metrics — Ctrl-C to stop"
while sleep 5; do
  metrics 2>/dev/null | awk '
    /^acd_collect_records_total\{/ { match($0, /format="[^"]*"/); f=substr($0, RSTART+8, RLENGTH-9); r[f]+=$NF }
    /^acd_collect_errors_total\{/ { e+=$NF }
    /^acd_pipeline_records_total / { p=$NF }
    /^acd_screen_records_in_total\{/ { match($0, /class="[^"]*"/); c=substr($0, RSTART+7, RLENGTH-8); s[c]+=$NF }
    END { line="demo: records counted:"; for (f in r) line=line sprintf(" %s=%d", f, r[f]);
          line=line " | screened:"; for (c in s) line=line sprintf(" %s=%d", c, s[c]);
          printf "%s | pipeline=%d errors=%d\n", line, p, e }'
done
