package session

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseLogin(t *testing.T) {
	form, js := "application/x-www-form-urlencoded", "application/json"
	for _, tc := range []struct {
		name, ctype, body string
		want              credentials
		err               string // "" ok, else in the error
	}{
		{"form", form, "name=alice&password=p%26ss+word", credentials{"alice", "p&ss word"}, ""},
		{"form order", form + "; charset=UTF-8", "password=x&name=a", credentials{"a", "x"}, ""},
		{"json", js, `{"name":"alice","password":"p\"w"}`, credentials{"alice", `p"w`}, ""},
		{"json spaces", js, " {\"password\":\"x\", \"name\":\"a\"}\n", credentials{"a", "x"}, ""},
		{"unicode", js, `{"name":"zoë","password":"ünïcødé"}`, credentials{"zoë", "ünïcødé"}, ""},
		{"text", "text/plain", "name=a&password=b", credentials{}, "application/json"},
		{"bad type", "", "name=a&password=b", credentials{}, "application/json"},
		{"form repeated", form, "name=a&name=b&password=x", credentials{}, "2 times"},
		{"form unknown", form, "name=a&password=x&role=admin", credentials{}, "unknown field"},
		{"form bad escape", form, "name=%zz&password=x", credentials{}, "unable to read"},
		{"json trailing", js, `{"name":"a","password":"x"}{}`, credentials{}, "after the JSON"},
		{"json array", js, `["a","x"]`, credentials{}, "unable to read"},
		{"json number", js, `{"name":1,"password":"x"}`, credentials{}, "unable to read"},
		{"json unknown", js, `{"name":"a","password":"x","roles":["admin"]}`, credentials{}, "unknown field"},
		{"no password", form, "name=a", credentials{}, "needs a name and a password"},
		{"empty", js, `{}`, credentials{}, "needs a name and a password"},
		{"long name", form, "password=x&name=" + strings.Repeat("n", maxName+1), credentials{}, "name is longer"},
		{"long password", form, "name=a&password=" + strings.Repeat("p", maxPassword+1), credentials{}, "password is longer"},
		{"control in name", form, "name=a%0Ab&password=x", credentials{}, "invalid characters"},
		{"NUL in password", form, "name=a&password=x%00", credentials{}, "invalid characters"},
		{"invalid UTF-8", form, "name=a%ff&password=x", credentials{}, "invalid characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseLogin(tc.ctype, []byte(tc.body))
			if tc.err == "" {
				if err != nil || got != tc.want {
					t.Fatalf("parseLogin = %+v, %v; want %+v", got, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("parseLogin error = %v, want one with %q", err, tc.err)
			}
			if got != (credentials{}) {
				t.Errorf("refused body returned %+v", got)
			}
			if (tc.err == "application/json") != errors.Is(err, errUnsupportedType) {
				t.Errorf("errUnsupportedType mismatch: %v", err)
			}
		})
	}
}

// FuzzParseLogin checks that any body is either refused or gives
// credentials within the limits, and that a JSON encoding of those
// credentials reads back the same.
func FuzzParseLogin(f *testing.F) {
	for _, s := range []struct{ ctype, body string }{
		{"application/x-www-form-urlencoded", "name=alice&password=correct+horse+battery"},
		{"application/x-www-form-urlencoded; charset=UTF-8", "password=p%26ss&name=zo%C3%AB"},
		{"application/json", `{"name":"alice","password":"correct horse battery"}`},
		{"application/json; charset=utf-8", `{"name":"a\u00e9","password":"\"\\"}`},
		{"application/json", `{"name":"a","password":"x"} `},
		{"text/plain", "name=a&password=b"},
		{"multipart/form-data; boundary=x", "--x--"},
		{"application/x-www-form-urlencoded", "name=%zz"},
	} {
		f.Add(s.ctype, []byte(s.body))
	}
	f.Fuzz(func(t *testing.T, ctype string, body []byte) {
		c, err := parseLogin(ctype, body)
		if err != nil {
			if c != (credentials{}) {
				t.Fatalf("error %v with credentials %+v", err, c)
			}
			return
		}
		if err := c.check(); err != nil {
			t.Fatalf("accepted %+v: %v", c, err)
		}
		js := `{"name":` + quote(c.Name) + `,"password":` + quote(c.Password) + `}`
		back, err := parseLogin("application/json", []byte(js))
		if err != nil || back != c {
			t.Fatalf("round trip of %+v through %s: %+v, %v", c, js, back, err)
		}
	})
}

// quote is a JSON string of s (valid UTF-8).
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
