#!/usr/bin/env bash
# Installs the Debian packages acd's integration tests drive, when missing:
# softflowd, pmacct (pmacctd, nfacctd, sfacctd), nfdump (nfcapd),
# nfdump-sflow (sfcapd), tcpdump.
set -euo pipefail
need=()
command -v softflowd >/dev/null || need+=(softflowd)
command -v pmacctd   >/dev/null || need+=(pmacct)
command -v nfcapd    >/dev/null || need+=(nfdump)
command -v sfcapd    >/dev/null || need+=(nfdump-sflow)
command -v tcpdump   >/dev/null || need+=(tcpdump)
if [ ${#need[@]} -eq 0 ]; then
  echo "peers: all present"
  exit 0
fi
echo "peers: installing ${need[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y "${need[@]}"
