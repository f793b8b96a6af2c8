package peertest

import (
	"os"
	"os/exec"
	"testing"
)

// IntegrationEnv is the environment variable that turns a missing peer
// from a skipped test into a failed one.
const IntegrationEnv = "ACD_INTEGRATION"

// debianPackage names the Debian package that installs each peer binary.
var debianPackage = map[string]string{
	"softflowd": "softflowd",
	"pmacctd":   "pmacct",
	"sfacctd":   "pmacct",
	"nfcapd":    "nfdump",
	"nfdump":    "nfdump",
	"tcpdump":   "tcpdump",
	"bird":      "bird2",
	"birdc":     "bird2",
	"unbound":   "unbound",
	"nft":       "nftables",
	"ip":        "iproute2",
	"chromium":  "chromium",

	"crowdsec-firewall-bouncer": "crowdsec-firewall-bouncer",
}

// Require returns the path of each named peer binary, in order. When one
// is not installed it skips the test, or fails it when ACD_INTEGRATION=1
// is set (the integration run must not pass by skipping).
func Require(t testing.TB, bins ...string) []string {
	t.Helper()
	paths := make([]string, len(bins))
	for i, bin := range bins {
		p, err := exec.LookPath(bin)
		if err == nil {
			paths[i] = p
			continue
		}
		pkg := debianPackage[bin]
		if pkg == "" {
			pkg = bin
		}
		if os.Getenv(IntegrationEnv) == "1" {
			t.Fatalf("peer %s not found (%v); install it: scripts/install-peers.sh (apt-get install %s)", bin, err, pkg)
			continue // only reached with a fake testing.TB
		}
		t.Skipf("peer %s not installed (apt-get install %s); set %s=1 to make this a failure", bin, pkg, IntegrationEnv)
	}
	return paths
}
