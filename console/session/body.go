package session

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"unicode"
	"unicode/utf8"
)

// Limits of a login request.
const (
	maxLoginBody = 8 << 10 // bytes
	maxName      = 256     // bytes
	maxPassword  = 1024    // bytes
)

// errUnsupportedType: the login body is neither a form nor JSON (415).
var errUnsupportedType = errors.New("send the login as application/x-www-form-urlencoded or application/json")

// credentials are a login's name and password.
type credentials struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// parseLogin reads a login body of contentType: a form (name=...&
// password=...) or a JSON object {"name": ..., "password": ...}. It
// returns errUnsupportedType for another type, another error for a
// malformed body or a missing, too long or unprintable field.
func parseLogin(contentType string, body []byte) (credentials, error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return credentials{}, errUnsupportedType
	}
	var c credentials
	switch mt {
	case "application/json":
		c, err = parseJSON(body)
	case "application/x-www-form-urlencoded":
		c, err = parseForm(body)
	default:
		return credentials{}, errUnsupportedType
	}
	if err == nil {
		err = c.check()
	}
	if err != nil {
		return credentials{}, err
	}
	return c, nil
}

func parseJSON(body []byte) (credentials, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var c credentials
	if err := dec.Decode(&c); err != nil {
		return credentials{}, fmt.Errorf("unable to read the login: %w", err)
	}
	if dec.More() {
		return credentials{}, errors.New("unable to read the login: data after the JSON object")
	}
	return c, nil
}

func parseForm(body []byte) (credentials, error) {
	q, err := url.ParseQuery(string(body))
	if err != nil {
		return credentials{}, fmt.Errorf("unable to read the login form: %w", err)
	}
	for k, v := range q {
		if k != "name" && k != "password" {
			return credentials{}, fmt.Errorf("unable to read the login form: unknown field %q", k)
		}
		if len(v) > 1 {
			return credentials{}, fmt.Errorf("unable to read the login form: field %q given %d times", k, len(v))
		}
	}
	return credentials{Name: q.Get("name"), Password: q.Get("password")}, nil
}

// check refuses a missing, too long or unprintable name or password.
func (c credentials) check() error {
	switch {
	case c.Name == "" || c.Password == "":
		return errors.New("the login needs a name and a password")
	case len(c.Name) > maxName:
		return fmt.Errorf("the name is longer than %d bytes", maxName)
	case len(c.Password) > maxPassword:
		return fmt.Errorf("the password is longer than %d bytes", maxPassword)
	case !printable(c.Name) || !utf8.ValidString(c.Password) || bytes.IndexByte([]byte(c.Password), 0) >= 0:
		return errors.New("the name or the password holds invalid characters")
	}
	return nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}
