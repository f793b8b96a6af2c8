package rpz

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfigValidates(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	secret := "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0" // 27 bytes
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // substring of the error; "" for valid
	}{
		{"sinkhole v4", func(c *Config) { c.Policy, c.SinkholeV4 = PolicySinkhole, "192.0.2.1" }, ""},
		{"sinkhole v4+v6", func(c *Config) { c.Policy, c.SinkholeV4, c.SinkholeV6 = PolicySinkhole, "192.0.2.1", "2001:db8::1" }, ""},
		{"sinkhole cname", func(c *Config) { c.Policy, c.SinkholeCNAME = PolicySinkhole, "sinkhole.example." }, ""},
		{"tsig", func(c *Config) { c.TSIG = TSIG{Name: "acd.", Secret: Secret(secret)} }, ""},
		{"zone not fqdn", func(c *Config) { c.Zone = "rpz.acd" }, "zone"},
		{"root zone", func(c *Config) { c.Zone = "." }, "zone"},
		{"listen", func(c *Config) { c.Listen = "localhost:53" }, "listen"},
		{"policy", func(c *Config) { c.Policy = "drop" }, "policy \"drop\""},
		{"nxdomain with address", func(c *Config) { c.SinkholeV4 = "192.0.2.1" }, "takes no sinkhole"},
		{"sinkhole without answer", func(c *Config) { c.Policy = PolicySinkhole }, "needs sinkhole_v4"},
		{"sinkhole both", func(c *Config) {
			c.Policy, c.SinkholeV4, c.SinkholeCNAME = PolicySinkhole, "192.0.2.1", "s.example."
		}, "not both"},
		{"v4 is v6", func(c *Config) { c.Policy, c.SinkholeV4 = PolicySinkhole, "2001:db8::1" }, "sinkhole_v4"},
		{"v6 is v4", func(c *Config) { c.Policy, c.SinkholeV6 = PolicySinkhole, "192.0.2.1" }, "sinkhole_v6"},
		{"cname rpz action", func(c *Config) { c.Policy, c.SinkholeCNAME = PolicySinkhole, "rpz-passthru." }, "RPZ actions"},
		{"ttl", func(c *Config) { c.TTL = 1500 * time.Millisecond }, "ttl"},
		{"notify", func(c *Config) { c.Notify = []string{"ns1.example:53"} }, "notify"},
		{"allow_transfer", func(c *Config) { c.AllowTransfer = []string{"10.0.0.1"} }, "allow_transfer"},
		{"tsig algorithm", func(c *Config) { c.TSIG = TSIG{Name: "acd.", Algorithm: "hmac-md5", Secret: Secret(secret)} }, "tsig algorithm"},
		{"tsig not base64", func(c *Config) { c.TSIG = TSIG{Name: "acd.", Secret: "!!not base64!!"} }, "not base64"},
		{"tsig short", func(c *Config) { c.TSIG = TSIG{Name: "acd.", Secret: "c2hvcnQ="} }, "at least 16"},
		{"tsig secret no name", func(c *Config) { c.TSIG.Secret = Secret(secret) }, "without a name"},
		{"soa mname", func(c *Config) { c.SOA.MName = "ns" }, "soa.mname"},
		{"soa refresh", func(c *Config) { c.SOA.Refresh = 0 }, "soa.refresh"},
		{"journal", func(c *Config) { c.Journal = 0 }, "journal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tc.want != "" && err == nil:
				t.Fatalf("Validate() = nil, want an error with %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Fatalf("Validate() = %v, want an error with %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), secret) {
				t.Fatalf("the error shows the secret: %v", err)
			}
		})
	}
}

func TestSecretNeverPrinted(t *testing.T) {
	c := DefaultConfig()
	c.TSIG = TSIG{Name: "acd.", Secret: "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"}
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("cfg", "tsig", c.TSIG.Secret, "config", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), b.String()} {
		if strings.Contains(s, string(c.TSIG.Secret)) {
			t.Errorf("secret printed: %s", s)
		}
	}
}
