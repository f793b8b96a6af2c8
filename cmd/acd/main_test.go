package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCmd runs acd in-process with the given environment variables and
// returns exit code, stdout and stderr.
func runCmd(t *testing.T, environ []string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, environ: func() []string { return environ }}
	code := run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func TestCommands(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		environ  []string
		wantCode int
		wantOut  string // substring of stdout
		wantErr  string // substring of stderr
	}{
		{name: "no args", args: nil, wantCode: 2, wantErr: "Commands:"},
		{name: "help", args: []string{"help"}, wantOut: "serve"},
		{name: "--help", args: []string{"--help"}, wantOut: "flowgen"},
		{name: "help serve", args: []string{"help", "serve"}, wantOut: "SIGTERM"},
		{name: "serve --help", args: []string{"serve", "--help"}, wantErr: "Usage: acd serve"},
		{name: "unknown command suggests", args: []string{"serv"}, wantCode: 2, wantErr: "Did you mean 'acd serve'?"},
		{name: "bad flag", args: []string{"check", "--nope"}, wantCode: 2, wantErr: "Run 'acd check --help'"},
		{name: "version", args: []string{"version"}, wantOut: "acd "},
		{name: "check defaults", args: []string{"check"}, wantOut: "ok"},
		{name: "check good file", args: []string{"check", "testdata/config/good.yaml"}, wantOut: "ok"},
		{name: "check reports every unknown key", args: []string{"check", "testdata/config/unknown-keys.yaml"}, wantCode: 1,
			wantErr: "unknown configuration keys: htttp (line 1), collect.netflow.wrokers (line 5), collect.sflow.decoder.bogus (line 8)"},
		{name: "check reports range errors", args: []string{"check", "testdata/config/bad-values.yaml"}, wantCode: 1,
			wantErr: "collect.netflow.workers: 0 out of range"},
		{name: "check missing file", args: []string{"check", "testdata/config/none.yaml"}, wantCode: 1, wantErr: "no such file"},
		{name: "check env override", args: []string{"check"}, environ: []string{"ACD_HTTP_LISTEN=127.0.0.1:9999", "ACD_NOPE=1"},
			wantOut: "override: http.listen from ACD_HTTP_LISTEN"},
		{name: "check bad env", args: []string{"check"}, environ: []string{"ACD_COLLECT_BATCH_SIZE=many"}, wantCode: 1, wantErr: "ACD_COLLECT_BATCH_SIZE"},
		{name: "config without dump", args: []string{"config"}, wantCode: 2, wantErr: "expected 'dump'"},
		{name: "config dump", args: []string{"config", "dump"}, wantOut: "listen: 127.0.0.1:8080"},
		{name: "config dump merges file", args: []string{"config", "dump", "-c", "testdata/config/good.yaml"}, wantOut: "workers: 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, tt.environ, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit code = %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout = %q, want containing %q", out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr = %q, want containing %q", errOut, tt.wantErr)
			}
		})
	}
}

// TestConfigDumpRoundTrip checks that the dump is itself a valid
// configuration that dumps to the same text.
func TestConfigDumpRoundTrip(t *testing.T) {
	code, dump, errOut := runCmd(t, nil, "config", "dump", "-c", "testdata/config/good.yaml")
	if code != 0 {
		t.Fatalf("dump failed: %s", errOut)
	}
	f := filepath.Join(t.TempDir(), "dump.yaml")
	if err := os.WriteFile(f, []byte(dump), 0o600); err != nil {
		t.Fatal(err)
	}
	code, dump2, errOut := runCmd(t, nil, "config", "dump", f)
	if code != 0 {
		t.Fatalf("dump of dump failed: %s", errOut)
	}
	if dump != dump2 {
		t.Errorf("dump of the dump differs:\n%s\n---\n%s", dump, dump2)
	}
}
