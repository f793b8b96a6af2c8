#!/usr/bin/env bash
# Installs the Debian packages acd's integration tests drive, when missing:
# softflowd, pmacct (pmacctd, nfacctd, sfacctd), nfdump (nfcapd),
# nfdump-sflow (sfcapd), tcpdump, and the enforcement peers:
# crowdsec-firewall-bouncer, bird2 (bird, birdc), unbound, nftables, and
# chromium for the console's browser tests (run headless, --no-sandbox).
# Recommends are not installed: crowdsec-firewall-bouncer recommends the
# crowdsec agent, whose post-install script registers with crowdsec.net
# (and fails offline); the tests point the bouncer at acd instead.
set -euo pipefail
need=()
command -v softflowd >/dev/null || need+=(softflowd)
command -v pmacctd   >/dev/null || need+=(pmacct)
command -v nfcapd    >/dev/null || need+=(nfdump)
command -v sfcapd    >/dev/null || need+=(nfdump-sflow)
command -v tcpdump   >/dev/null || need+=(tcpdump)
command -v crowdsec-firewall-bouncer >/dev/null || need+=(crowdsec-firewall-bouncer)
command -v bird      >/dev/null || need+=(bird2)
command -v unbound   >/dev/null || need+=(unbound)
command -v nft       >/dev/null || need+=(nftables)
command -v chromium  >/dev/null || need+=(chromium)
if [ ${#need[@]} -eq 0 ]; then
  echo "peers: all present"
  exit 0
fi
echo "peers: installing ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${need[@]}"
