package abuse

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestConfigValidate(t *testing.T) {
	ok := func() Config {
		c := DefaultConfig()
		c.From, c.Dir, c.StateDir = "r@cert.example", "/var/spool/acd", "/var/lib/acd/abuse"
		return c
	}
	for _, tc := range []struct {
		name string
		edit func(c *Config)
		want string
	}{
		{"valid dir", func(c *Config) {}, ""},
		{"valid smtp", func(c *Config) {
			c.Dir, c.SMTP = "", &SMTPConfig{Relay: "mail.example:587", Username: "u", Password: "p"}
		}, ""},
		{"bad format", func(c *Config) { c.Format = "iodef" }, `format "iodef"`},
		{"no from", func(c *Config) { c.From = "" }, "from"},
		{"bad contact", func(c *Config) { c.Contacts = []Contact{{"198.51.100.0/33", "a@b.example"}} }, "contacts[0]"},
		{"bad contact email", func(c *Config) { c.Contacts = []Contact{{"198.51.100.0/24", "x"}} }, "contacts[0]"},
		{"no delivery", func(c *Config) { c.Dir = "" }, "no delivery"},
		{"two deliveries", func(c *Config) { c.SMTP = &SMTPConfig{Relay: "m:25"} }, "choose one"},
		{"relay without port", func(c *Config) { c.Dir, c.SMTP = "", &SMTPConfig{Relay: "mail.example"} }, "host:port"},
		{"password alone", func(c *Config) { c.Dir, c.SMTP = "", &SMTPConfig{Relay: "m:25", Password: "p"} }, "without a username"},
		{"negative timeout", func(c *Config) { c.Dir, c.SMTP = "", &SMTPConfig{Relay: "m:25", Timeout: -time.Second} }, "negative"},
		{"no state dir", func(c *Config) { c.StateDir = "" }, "state_dir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok()
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate: %v, want %q", err, tc.want)
			}
		})
	}
}

func TestDefaultNeedsDelivery(t *testing.T) {
	err := DefaultConfig().Validate()
	for _, want := range []string{"from", "no delivery", "state_dir"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("DefaultConfig().Validate() = %v, want it to name %q", err, want)
		}
	}
}

func TestPasswordNotDumped(t *testing.T) {
	c := Config{SMTP: &SMTPConfig{Relay: "m:25", Username: "acd", Password: "s3cret"}}
	b, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "s3cret") || !strings.Contains(string(b), "<redacted>") {
		t.Errorf("dump shows the password:\n%s", b)
	}
	var back Config
	if err := yaml.Unmarshal([]byte("smtp: {relay: m:25, password: x, starttls: false, timeout: 5s}"), &back); err != nil {
		t.Fatal(err)
	}
	if back.SMTP.Password != "x" || back.SMTP.StartTLS == nil || *back.SMTP.StartTLS || back.SMTP.Timeout != 5*time.Second {
		t.Errorf("yaml read %+v", back.SMTP)
	}
}
