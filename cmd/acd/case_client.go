package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// defaultServer is the API's address when neither --server nor
// ACD_SERVER says otherwise (acd serve's default http.listen).
const defaultServer = "http://127.0.0.1:8080"

// maxAnswer bounds an API answer read by the CLI.
const maxAnswer = 64 << 20

// clientFlags are the flags every API command takes.
type clientFlags struct {
	server    *string
	user      *string
	allowHTTP *bool
}

// addClientFlags registers --server, --user and --allow-http on fs.
func addClientFlags(fs *flag.FlagSet) clientFlags {
	return clientFlags{
		server:    fs.String("server", "", "the acd server's `URL` (default $ACD_SERVER, else "+defaultServer+")"),
		user:      fs.String("user", "", "log in as user `NAME` (password from $ACD_PASSWORD, else the first line of stdin); without it, $ACD_TOKEN is the bearer token"),
		allowHTTP: fs.Bool("allow-http", false, "allow sending credentials over plain http to a host other than loopback"),
	}
}

// apiClient calls acd's REST API.
type apiClient struct {
	base *url.URL
	auth func(*http.Request)
	hc   *http.Client
	// name is the user named with --user ("" with a token).
	name string
}

// getenv returns the value of key in e's environment.
func getenv(e *env, key string) string {
	v := ""
	for _, kv := range e.environ() {
		if k, val, ok := strings.Cut(kv, "="); ok && k == key {
			v = val
		}
	}
	return v
}

// newAPIClient builds a client from the flags and the environment. A
// password is read from stdin only when stdinFree.
func newAPIClient(e *env, cf clientFlags, stdinFree bool) (*apiClient, error) {
	server := *cf.server
	if server == "" {
		server = getenv(e, "ACD_SERVER")
	}
	if server == "" {
		server = defaultServer
	}
	u, err := url.Parse(strings.TrimSuffix(server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("%w: --server %q: want http(s)://HOST[:PORT]", errUsage, server)
	}
	if u.Scheme == "http" && !*cf.allowHTTP && !isLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("%w: --server %s: refusing to send credentials in clear text to a remote host; use https (or --allow-http)", errUsage, server)
	}
	c := &apiClient{base: u, hc: &http.Client{Timeout: 60 * time.Second}}
	switch token := getenv(e, "ACD_TOKEN"); {
	case *cf.user != "":
		password := getenv(e, "ACD_PASSWORD")
		if password == "" {
			if !stdinFree {
				return nil, fmt.Errorf("%w: --user %s: stdin is taken by the input here: give the password in $ACD_PASSWORD", errUsage, *cf.user)
			}
			if password, err = readFirstLine(e.stdin); err != nil {
				return nil, fmt.Errorf("--user %s: no password: set $ACD_PASSWORD or give it on stdin (%v)", *cf.user, err)
			}
		}
		name := *cf.user
		c.name = name
		c.auth = func(r *http.Request) { r.SetBasicAuth(name, password) }
	case token != "":
		c.auth = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }
	default:
		return nil, fmt.Errorf("%w: no credentials: set $ACD_TOKEN (acd token create) or give --user NAME", errUsage)
	}
	return c, nil
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// readFirstLine reads the first line of r, without its line ending.
func readFirstLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("unable to read stdin: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("stdin is empty")
	}
	return line, nil
}

// apiError is an error answer of the API.
type apiError struct {
	Status int
	Msg    string
}

func (e *apiError) Error() string {
	what := map[int]string{
		http.StatusBadRequest: "bad request", http.StatusUnauthorized: "not logged in",
		http.StatusForbidden: "forbidden", http.StatusNotFound: "not found",
		http.StatusConflict: "refused", http.StatusServiceUnavailable: "unavailable",
	}[e.Status]
	if what == "" {
		what = strings.ToLower(http.StatusText(e.Status))
	}
	return fmt.Sprintf("%s (%d): %s", what, e.Status, e.Msg)
}

// call sends body (JSON; nil for none) and returns the answer's bytes,
// or an *apiError for a status other than 2xx.
func (c *apiClient) call(ctx context.Context, method, path string, query url.Values, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	u := *c.base
	u.Path = c.base.Path + path
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	c.auth(req)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("unable to reach the acd server: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("unable to read the server's answer: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(data))
		}
		return nil, &apiError{Status: resp.StatusCode, Msg: e.Error}
	}
	return data, nil
}

// callJSON is call decoding the answer into out.
func (c *apiClient) callJSON(ctx context.Context, method, path string, query url.Values, body, out any) error {
	data, err := c.call(ctx, method, path, query, body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("the server's answer to %s %s is not what was expected: %w", method, path, err)
	}
	return nil
}
