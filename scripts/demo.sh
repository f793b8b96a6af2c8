#!/usr/bin/env bash
# The demo: acd serve on the embedded defaults, bound to loopback, fed by
# acd flowgen: a live scenario with attacks and ground truth over IPFIX
# (background of a 500-client network, a scan, an SSH brute force, a DNS
# reflection flood, a SYN flood, a C2 botnet beaconing). Prints records per
# format, screening classes, findings and suspects every few seconds;
# Ctrl-C stops everything.
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
export ACD_SCREEN_DOMESTIC_ADD='["198.18.0.0/15", "2001:db8:100::/48"]'
export ACD_STORE_PATH=.demo/acd.db
# An analyst's API token for /api/v1/suspects (a new one each run).
"$bin" token revoke demo-analyst >/dev/null 2>&1 || true
token=$("$bin" token create --role analyst demo-analyst 2>/dev/null)
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

# The scenario's records go out when they happen, as an exporter on that
# network would send them. (flowgen's uniform random mix is not used here:
# random addresses and ports, scaled up by sFlow sampling, look like scans
# and floods to the detectors, which is what they are for.)
"$bin" flowgen --quiet --scenario demo --format ipfix --to 127.0.0.1:4739 &
pids+=($!)

echo "demo: acd is collecting on 127.0.0.1:2055/4739 (NetFlow/IPFIX) and 6343 (sFlow)"
echo "demo: a live scenario streams over IPFIX: scan from 1 min, brute force 2 min, DNS reflection 3 min, SYN flood 6 min, C2 beacons every 30 s"
echo "demo: metrics at http://$http/metrics — Ctrl-C to stop"
echo "demo: suspects: curl -s -H 'Authorization: Bearer $token' http://$http/api/v1/suspects | jq"
while sleep 5; do
  metrics 2>/dev/null | awk '
    /^acd_collect_records_total\{/ { match($0, /format="[^"]*"/); f=substr($0, RSTART+8, RLENGTH-9); r[f]+=$NF }
    /^acd_collect_errors_total\{/ { e+=$NF }
    /^acd_pipeline_records_total / { p=$NF }
    /^acd_screen_records_in_total\{/ { match($0, /class="[^"]*"/); c=substr($0, RSTART+7, RLENGTH-8); s[c]+=$NF }
    /^acd_detect_findings_total\{/ { match($0, /detector="[^"]*"/); d=substr($0, RSTART+10, RLENGTH-11); fd[d]+=$NF }
    /^acd_detect_suspects / { sus=$NF }
    END { line="demo: records:"; for (f in r) line=line sprintf(" %s=%d", f, r[f]);
          line=line " | screened:"; for (c in s) line=line sprintf(" %s=%d", c, s[c]);
          line=line sprintf(" | errors=%d | findings:", e); for (d in fd) line=line sprintf(" %s=%d", d, fd[d]);
          printf "%s | suspects=%d\n", line, sus }'
done
