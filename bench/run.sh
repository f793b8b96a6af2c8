#!/usr/bin/env bash
# bench/run.sh: side-by-side flow receiver benchmark on loopback.
#
# For each receiver (acd, nfcapd/sfcapd, nfacctd/sfacctd, goflow2) and each
# format (NetFlow v9, IPFIX, sFlow v5) it searches the highest rate, in
# records per second, that the receiver sustains with under 0.1% loss: the
# receiver is pinned to one core, `acd flowgen` to the other, every step
# starts a fresh receiver, sends for DURATION, waits for the receiver to go
# idle, then compares the records sent with the records the receiver
# counted. A step passes when under 0.1% of the records are missing and the
# receiver emptied its socket within DRAIN_MAX_MS of the sender stopping
# (so a big buffer cannot hide a receiver that falls behind). See
# bench/README.md for the method and the results.
#
# Needs root (sysctl, SO_RCVBUFFORCE), two cores, nfdump + nfdump-sflow,
# pmacct, Go. Everything binds to 127.0.0.1 only. Bounded: at most
# len(RATES) steps per receiver and format; everything it started is killed
# on exit, and the sysctls are restored.
#
# Environment (defaults in brackets):
#   RECEIVERS  receivers to run            [acd nfcapd nfacctd goflow2]
#   FORMATS    formats                     [v9 ipfix sflow]
#   RATES      rate ladder, records/s      [10k .. 8M, see below]
#   DURATION   send time per step          [5s]
#   RX_CPU, TX_CPU  cores for receiver and sender  [0, 1]
#   BUF        socket receive buffer the kernel grants every receiver,
#              bytes                       [33554432]
#   RETRY      re-run a failing step once before believing it  [1]
#   QUIET_BUDGET, QUIET_PCT  before each step wait until both cores are
#              under QUIET_PCT% busy (other users' work), at most
#              QUIET_BUDGET seconds over the whole run   [120, 30]
#   OUT        output directory            [bench/out/run-DATE]
#   SKIP_BUILD 1: use the bench/out/acd already built  [0]
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
RECEIVERS=${RECEIVERS:-"acd nfcapd nfacctd goflow2"}
FORMATS=${FORMATS:-"v9 ipfix sflow"}
RATES=${RATES:-"10000 20000 30000 50000 75000 100000 150000 200000 250000 500000 750000 1000000 1500000 2000000 2500000 3000000 3500000 4000000 5000000 6000000 8000000"}
DURATION=${DURATION:-5}
RX_CPU=${RX_CPU:-0}
TX_CPU=${TX_CPU:-1}
BUF=${BUF:-33554432}
RETRY=${RETRY:-1}
OUT=${OUT:-$ROOT/bench/out/run-$(date -u +%Y%m%dT%H%M%SZ)}
QUIET_BUDGET=${QUIET_BUDGET:-120}
QUIET_PCT=${QUIET_PCT:-30}
GRACE=3            # seconds a receiver may take to drain after the sender stops
LOSS_MAX=0.001     # 0.1%
DRAIN_MAX_MS=500   # a receiver that kept up empties its socket within this after the sender stops
NF_PORT=22055 SF_PORT=26343 HTTP_PORT=28080
# Where each receiver's search starts on the ladder (it climbs on success
# and descends on failure, so this only saves time).
declare -A START=([acd]=2000000 [nfcapd]=1500000 [nfacctd]=1000000 [goflow2]=30000)

ACD=$ROOT/bench/out/acd
GOBIN=$ROOT/bench/out/gobin
GOFLOW2=$GOBIN/goflow2
HZ=$(getconf CLK_TCK)
DATA=/dev/shm/acd-bench.$$ # nfcapd output and pmacct pipes (tmpfs: cheapest disk)

mkdir -p "$OUT" "$DATA"
LOG=$OUT/steps.tsv
RX_PID=""
SYSCTL_SAVED=() # the sysctls to restore, as key=value

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" | tee -a "$OUT/run.log" >&2; }

# stop_rx terminates the receiver's process group (it was started with
# setsid, so its group id is its pid), then kills what is left.
stop_rx() {
	[[ -n $RX_PID ]] || return 0
	local killer
	kill -TERM -- "-$RX_PID" 2>/dev/null || true
	(sleep 5 && kill -KILL -- "-$RX_PID") >/dev/null 2>&1 &
	killer=$!
	if kill -0 "$RX_PID" 2>/dev/null; then
		wait "$RX_PID" 2>/dev/null || true # RX_PID is this shell's child
	fi
	kill "$killer" 2>/dev/null || true
	kill -KILL -- "-$RX_PID" 2>/dev/null || true # what is left of the group
	wait 2>/dev/null || true
	RX_PID=""
}

cleanup() {
	local rc=$?
	stop_rx
	if ((${#SYSCTL_SAVED[@]} > 0)); then
		sysctl -q -w "${SYSCTL_SAVED[@]}" || true
		log "restored ${SYSCTL_SAVED[*]}"
	fi
	rm -rf "$DATA"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- set-up

setup() {
	[[ $(id -u) == 0 ]] || { echo "run as root (sysctl, SO_RCVBUFFORCE)" >&2; exit 1; }
	for t in nfcapd sfcapd nfdump nfacctd sfacctd pmacct taskset setsid ss curl; do
		command -v $t >/dev/null || { echo "missing $t (apt-get install nfdump nfdump-sflow pmacct)" >&2; exit 1; }
	done
	if [[ ${SKIP_BUILD:-0} != 1 || ! -x $ACD ]]; then
		log "building acd"
		go build -o "$ACD" ./cmd/acd
	fi
	"$ACD" keygen "$DATA/screen.key" >/dev/null # the screening stage needs a key
	if [[ ! -x $GOFLOW2 ]]; then
		log "installing goflow2 into $GOBIN"
		GOBIN=$GOBIN go install github.com/netsampler/goflow2/v2/cmd/goflow2@latest
	fi
	for p in $NF_PORT $SF_PORT; do
		! ss -uan "sport = :$p" | grep -q ":$p" || { echo "udp port $p busy" >&2; exit 1; }
	done
	! ss -tan "sport = :$HTTP_PORT" | grep -q LISTEN || { echo "tcp port $HTTP_PORT busy" >&2; exit 1; }
	SYSCTL_SAVED=("net.core.rmem_max=$(sysctl -n net.core.rmem_max)" "net.core.rmem_default=$(sysctl -n net.core.rmem_default)")
	# Receivers that ask for BUF/2 with SO_RCVBUF get BUF (the kernel
	# doubles it); goflow2 asks for nothing and gets rmem_default.
	sysctl -q -w "net.core.rmem_max=$BUF" "net.core.rmem_default=$BUF"
	log "set net.core.rmem_max=net.core.rmem_default=$BUF (was: ${SYSCTL_SAVED[*]})"
	{
		echo "date: $(date -u +%FT%TZ)"
		echo "nproc: $(nproc)"
		echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
		echo "kernel: $(uname -r)"
		echo "go: $(go version)"
		echo "acd: $(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet || echo '+dirty')"
		echo "nfcapd: $(nfcapd -V 2>&1 | head -1)"
		echo "nfacctd: $(nfacctd -V 2>&1 | head -1)"
		echo "goflow2: $(go version -m "$GOFLOW2" | awk '$1 == "mod" { print $3 }')"
		echo "receiver cpu: $RX_CPU, sender cpu: $TX_CPU, socket buffer: $BUF, step: ${DURATION}s"
	} >"$OUT/machine.txt"
	cat "$OUT/machine.txt" >&2
	printf 'receiver\tformat\trate\tsent\tsent_rate\tcounted\tloss\tsock_drops\trcvbuf_errs\tcpu_pct\trss_kb\tother_rx_cpu_pct\trb\tpass\tdrain_ms\tdetail\n' >"$LOG"
}

# ---------------------------------------------------------------- receivers

port_of() { [[ $1 == sflow ]] && echo $SF_PORT || echo $NF_PORT; }

# launch LOG CMD... starts CMD pinned to RX_CPU in a new session and sets
# RX_PID to its process group id (the session leader's pid).
launch() {
	local logf=$1
	shift
	rm -f "$DATA/pid"
	# shellcheck disable=SC2016 # $$ and $@ belong to the inner shell
	setsid bash -c 'echo $$ >"$0"; exec "$@"' "$DATA/pid" taskset -c "$RX_CPU" "$@" >"$logf" 2>&1 &
	for _ in $(seq 100); do
		[[ -s $DATA/pid ]] && break
		sleep 0.02
	done
	RX_PID=$(cat "$DATA/pid")
}

# start_rx RECEIVER FORMAT starts a fresh receiver pinned to RX_CPU.
start_rx() {
	local rx=$1 fmt=$2 port dir=$DATA/$1 bin
	port=$(port_of "$fmt")
	rm -rf "$dir" && mkdir -p "$dir"
	case $rx in
	acd)
		ACD_LOG_LEVEL=warn ACD_HTTP_LISTEN=127.0.0.1:$HTTP_PORT ACD_SCREEN_KEY_FILE=$DATA/screen.key \
			ACD_COLLECT_NETFLOW_LISTEN="[\"127.0.0.1:$NF_PORT\"]" ACD_COLLECT_SFLOW_LISTEN="[\"127.0.0.1:$SF_PORT\"]" \
			ACD_COLLECT_NETFLOW_RECEIVE_BUFFER=$((BUF / 2)) ACD_COLLECT_SFLOW_RECEIVE_BUFFER=$((BUF / 2)) \
			launch "$dir/log" "$ACD" serve
		;;
	nfcapd)
		bin=nfcapd
		[[ $fmt == sflow ]] && bin=sfcapd
		mkdir -p "$dir/flows"
		launch "$dir/log" $bin -w "$dir/flows" -b 127.0.0.1 -p "$port" -B $((BUF / 2)) -t 3600
		;;
	nfacctd)
		bin=nfacctd
		[[ $fmt == sflow ]] && bin=sfacctd
		# The print plugin aggregated on the protocol only (3 rows), written
		# every second to a CSV file we sum: the cheapest pmacct set-up
		# that still counts every flow (the memory plugin is slower and
		# drops "missing data" between the core and the plugin).
		cat >"$dir/conf" <<-EOF
			daemonize: false
			${bin}_ip: 127.0.0.1
			${bin}_port: $port
			${bin}_pipe_size: $((BUF / 2))
			plugins: print[p]
			aggregate[p]: proto, flows
			print_output[p]: csv
			print_output_file[p]: $dir/flows.csv
			print_output_file_append[p]: true
			print_refresh_time[p]: 1
			plugin_buffer_size[p]: 65536
			plugin_pipe_size[p]: 67108864
		EOF
		launch "$dir/log" $bin -f "$dir/conf"
		;;
	goflow2)
		# One worker: with two, data can be decoded before the template
		# that precedes it. Blocking: the reader waits for the worker, so
		# like every other receiver goflow2 buffers in its socket only (by
		# default it queues up to a million datagrams in memory, which
		# hides a backlog from a 5 s step). -format bin is its cheapest
		# output (json, its default, is slower).
		launch "$dir/log" "$GOFLOW2" -addr 127.0.0.1:$HTTP_PORT -loglevel error -format bin \
			-listen "netflow://127.0.0.1:$NF_PORT?count=1&workers=1&blocking=true,sflow://127.0.0.1:$SF_PORT?count=1&workers=1&blocking=true" \
			-transport file -transport.file /dev/null
		;;
	esac
	local hex
	hex=$(printf '%04X' "$port")
	for _ in $(seq 100); do
		grep -q "0100007F:$hex " /proc/net/udp && return 0
		sleep 0.05
	done
	log "$rx did not bind 127.0.0.1:$port"
	cat "$dir/log" >&2
	return 1
}

# sock_field PORT COL prints a column of the receiver's socket line in
# /proc/net/udp (5: tx_queue:rx_queue, 13: drops).
sock_field() {
	awk -v a="0100007F:$(printf '%04X' "$1")" -v c="$2" '$2 == a { print $c; exit }' /proc/net/udp
}
rx_queue() { local q; q=$(sock_field "$1" 5); echo $((16#${q#*:})); }

# group_ticks prints utime+stime of the receiver's processes.
group_ticks() {
	local t=0 p f
	for p in $(pgrep -g "$RX_PID" 2>/dev/null); do
		f=$(cut -d')' -f2- "/proc/$p/stat" 2>/dev/null) || continue
		t=$((t + $(awk '{ print $12 + $13 }' <<<"$f")))
	done
	echo $t
}

# group_hwm prints the summed peak RSS (VmHWM, kB) of the receiver's processes.
group_hwm() {
	local p
	for p in $(pgrep -g "$RX_PID" 2>/dev/null); do
		awk '/^VmHWM/ { print $2 }' "/proc/$p/status" 2>/dev/null || true
	done | awk '{ s += $1 } END { print s + 0 }'
}

# cpu_busy CPU prints the busy jiffies of one core from /proc/stat.
cpu_busy() { awk -v c="cpu$1" '$1 == c { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
rcvbuf_errors() { awk '/^Udp:/ { if (h) { print $6; exit } h = 1 }' /proc/net/snmp; }

# metric_sum REGEX prints the sum of the matching samples at the metrics
# endpoint (the value is the last field: label values may hold spaces).
metric_sum() {
	curl -sf --max-time 2 "http://127.0.0.1:$HTTP_PORT/metrics" | awk -v re="$1" '$0 !~ /^#/ && $1 ~ re { s += $NF } END { printf "%.0f\n", s }'
}

# count_rx RECEIVER FORMAT prints the records the receiver counted. nfcapd
# is counted after it stopped (it writes its file on exit).
count_rx() {
	local rx=$1 fmt=$2 dir=$DATA/$1
	case $rx in
	acd) metric_sum '^acd_pipeline_records_total' ;; # decoded and through the screening stage
	goflow2)
		if [[ $fmt == sflow ]]; then
			metric_sum '^goflow2_flow_process_sf_samples_total[{].*type="FlowSample"'
		else
			metric_sum '^goflow2_flow_process_nf_flowset_records_total[{].*type="DataFlowSet"'
		fi
		;;
	nfacctd)
		sleep 1.2 # the next print_refresh_time
		awk -F, '$1 != "PROTOCOL" { s += $3 } END { print s + 0 }' "$dir/flows.csv" 2>/dev/null || echo 0
		;;
	nfcapd) nfdump -R "$dir/flows" -I 2>/dev/null | awk '/^Flows:/ { s += $2 } END { print s + 0 }' ;;
	esac
}

# detail_rx RECEIVER prints receiver-side loss counters, for the log.
detail_rx() {
	case $1 in
	acd) echo "decoded=$(metric_sum '^acd_collect_records_total'),queue_drops=$(metric_sum '^acd_collect_queue_drops_total'),errors=$(metric_sum '^acd_collect_errors_total')" ;;
	goflow2) echo "queue_drops=$(metric_sum '^goflow2_flow_dropped_packets_total'),errors=$(metric_sum '^goflow2_flow_decoder_error_total')" ;;
	nfacctd) echo "missing_data_warnings=$(grep -c 'Missing data' "$DATA/$1/log")" ;;
	nfcapd) echo "-" ;;
	esac
}

# settle waits until the receiver has drained its socket and stopped using
# CPU, for at most GRACE seconds.
settle() {
	local port=$1 last now i
	last=$(group_ticks)
	for ((i = 0; i < GRACE * 4; i++)); do
		sleep 0.25
		now=$(group_ticks)
		if [[ $now == "$last" && $(rx_queue "$port") == 0 ]]; then
			return 0
		fi
		last=$now
	done
}

# quiet waits, within what is left of QUIET_BUDGET seconds for the whole
# run, until the two cores together were less than QUIET_PCT% busy over
# half a second: other work on the machine skews a step.
quiet() {
	local b0 b1 busy
	while ((QUIET_BUDGET > 0)); do
		b0=$(($(cpu_busy "$RX_CPU") + $(cpu_busy "$TX_CPU")))
		sleep 0.5
		b1=$(($(cpu_busy "$RX_CPU") + $(cpu_busy "$TX_CPU")))
		busy=$((100 * (b1 - b0) / HZ)) # jiffies over 0.5 s x 2 cores, in percent
		((busy < QUIET_PCT)) && return 0
		sleep 0.5
		QUIET_BUDGET=$((QUIET_BUDGET - 1))
	done
}

# ---------------------------------------------------------------- one step

# step RECEIVER FORMAT RATE runs one step, appends it to the log and
# returns 0 if the receiver kept up.
step() {
	local rx=$1 fmt=$2 rate=$3 port out sent srate t0 t1 b0 b1 e0 e1 n0 n1 drops counted hwm rb detail
	port=$(port_of "$fmt")
	quiet
	start_rx "$rx" "$fmt" || { stop_rx; return 1; }
	rb=$(ss -uamn "sport = :$port" | grep -o 'rb[0-9]*' | head -1)
	sleep 0.3
	t0=$(group_ticks) b0=$(cpu_busy "$RX_CPU") e0=$(rcvbuf_errors) n0=$(date +%s.%N)
	out=$(timeout $((DURATION + 20)) taskset -c "$TX_CPU" "$ACD" flowgen --format "$fmt" \
		--to "127.0.0.1:$port" --rate "$rate" --duration "${DURATION}s" --ring 1024 2>&1) || true
	sent=$(awk '/^sent / { print $2; exit }' <<<"$out")
	srate=$(awk -F', ' '/records\/s/ { split($2, a, " "); print a[1]; exit }' <<<"$out")
	if [[ -z $sent ]]; then
		log "flowgen failed: $out"
		stop_rx
		return 2
	fi
	# The sender has stopped and everything it sent is in the socket (on
	# loopback sending delivers). A receiver that kept up empties it at
	# once; one that fell behind needs a while, however big its buffers.
	local d0 i drain
	d0=$(date +%s%N)
	for ((i = 0; i < GRACE * 50; i++)); do
		[[ $(rx_queue "$port") == 0 ]] && break
		sleep 0.02
	done
	drain=$((($(date +%s%N) - d0) / 1000000))
	settle "$port"
	t1=$(group_ticks) b1=$(cpu_busy "$RX_CPU") e1=$(rcvbuf_errors) n1=$(date +%s.%N)
	drops=$(sock_field "$port" 13)
	hwm=$(group_hwm)
	detail=$(detail_rx "$rx")
	if [[ $rx == nfcapd ]]; then
		stop_rx
		counted=$(count_rx "$rx" "$fmt")
	else
		counted=$(count_rx "$rx" "$fmt")
		stop_rx
	fi
	rm -rf "${DATA:?}/$rx"
	local line
	line=$(awk -v rx="$rx" -v fmt="$fmt" -v rate="$rate" -v sent="$sent" -v srate="$srate" -v c="${counted:-0}" \
		-v drops="${drops:-0}" -v e=$((e1 - e0)) -v t=$((t1 - t0)) -v b=$((b1 - b0)) -v hz="$HZ" \
		-v d="$(awk -v a="$n0" -v b="$n1" 'BEGIN { print b - a }')" -v hwm="$hwm" -v rb="$rb" -v max="$LOSS_MAX" -v detail="$detail" -v drain="$drain" -v dmax="$DRAIN_MAX_MS" 'BEGIN {
		loss = (sent - c) / sent
		pass = (loss < max && c <= sent && drain <= dmax) ? "yes" : "no"
		if (pass == "yes" && srate < 0.95 * rate) pass = "sender" # kept up with a slow sender
		printf "%s\t%s\t%d\t%d\t%.0f\t%d\t%.5f\t%d\t%d\t%.0f\t%d\t%.0f\t%s\t%s\t%d\t%s\n",
			rx, fmt, rate, sent, srate, c, loss, drops, e, 100 * t / hz / d, hwm, 100 * (b - t) / hz / d, rb, pass, drain, detail
	}')
	printf '%s\n' "$line" >>"$LOG"
	log "$(tr '\t' ' ' <<<"$line")"
	LAST_SRATE=$(cut -f5 <<<"$line")
	[[ $(cut -f14 <<<"$line") == yes ]] && return 0
	[[ $(cut -f14 <<<"$line") == sender ]] && return 3
	return 1
}

# try runs a step, once more if it fails and RETRY is set.
try() {
	local rc=0
	step "$@" || rc=$?
	if [[ $rc == 1 && $RETRY == 1 ]]; then
		rc=0
		step "$@" || rc=$?
	fi
	return $rc
}

# search RECEIVER FORMAT climbs the rate ladder from the receiver's start
# rate while steps pass, or descends while they fail. A step where the
# sender could not reach the rate but the receiver lost nothing ends the
# search at the rate actually sent (a lower bound).
search() {
	local rx=$1 fmt=$2 rates i start rc best=0 at=0 note="" dir=1
	read -r -a rates <<<"$RATES"
	start=0
	for i in "${!rates[@]}"; do
		((rates[i] <= ${START[$rx]:-500000})) && start=$i
	done
	for ((i = start; i >= 0 && i < ${#rates[@]}; i += dir)); do
		rc=0
		try "$rx" "$fmt" "${rates[i]}" || rc=$?
		case $rc in
		0)
			best=${rates[i]} at=${rates[i]}
			((dir == 1)) || break
			;;
		3)
			# A lower bound; it counts only if above what already passed
			# (a retried step may come back sender-limited below the rate
			# of the previous, passed step).
			if ((${LAST_SRATE%.*} > best)); then
				best=$LAST_SRATE at=${rates[i]} note=" (sender limit: the receiver kept up with all the sender could send)"
			fi
			break
			;;
		*)
			((i == start)) && dir=-1 # the start rate fails: descend
			((dir == -1)) && continue
			break
			;;
		esac
	done
	printf '%s\t%s\t%s\t%s\t%s\n' "$rx" "$fmt" "$best" "$at" "$note" >>"$OUT/best.tsv"
	log "== $rx $fmt: highest rate with <0.1% loss: $best records/s$note"
}

# ---------------------------------------------------------------- report

report() {
	# For each receiver and format: the best passing step's figures.
	{
		echo "| receiver | format | max records/s (<0.1% loss) | sent records/s | loss | CPU % | peak RSS MiB |"
		echo "|---|---|---:|---:|---:|---:|---:|"
		awk -F'\t' 'NR == FNR { best[$1 FS $2] = $3; at[$1 FS $2] = $4; note[$1 FS $2] = $5; order[++n] = $1 FS $2; next }
			FNR > 1 && ($14 == "yes" || $14 == "sender") && $3 == at[$1 FS $2] { row[$1 FS $2] = $0 }
			END {
				for (i = 1; i <= n; i++) {
					k = order[i]; split(k, a, FS)
					if (!(k in row)) { printf "| %s | %s | below the lowest step | | | | |\n", a[1], a[2]; continue }
					split(row[k], r, FS)
					printf "| %s | %s | %s%d | %d | %.3f%% | %s | %.0f |\n", a[1], a[2], note[k] != "" ? ">= " : "", best[k], r[5], 100 * r[7], r[10], r[11] / 1024
				}
			}' "$OUT/best.tsv" "$LOG"
	} >"$OUT/results.md"
	cat "$OUT/results.md"
}

main() {
	setup
	local rx fmt
	for fmt in $FORMATS; do
		for rx in $RECEIVERS; do
			search "$rx" "$fmt"
		done
	done
	report
	log "done: $OUT"
}

main "$@"
