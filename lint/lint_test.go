package lint

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/acd-org/acd"

type pkg struct {
	ImportPath string
	Doc        string
	Imports    []string
	Name       string
}

func listPackages(t *testing.T) []pkg {
	t.Helper()
	cmd := exec.Command("go", "list", "-json", module+"/...")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func TestPackagesHaveDocComments(t *testing.T) {
	for _, p := range listPackages(t) {
		if strings.TrimSpace(p.Doc) == "" {
			t.Errorf("package %s has no doc comment", p.ImportPath)
		}
	}
}

// stage gives each top-level directory its place on the data path. A
// package may import packages of its own or an earlier stage only.
var stage = map[string]int{
	"flow": 0, "conf": 0, "daemon": 0,
	"collect": 1, "flowgen": 1,
	"minimize": 2,
	"detect":   3,
	"intel":    4, "audit": 4,
	"cases":   5,
	"enforce": 6,
	"verify":  7,
	"store":   8, "bus": 8,
	"console":  9,
	"peertest": 10, "bench": 10, "lint": 10,
	"cmd": 11,
}

func top(importPath string) string {
	rest := strings.TrimPrefix(importPath, module+"/")
	top, _, _ := strings.Cut(rest, "/")
	return top
}

func TestImportsFollowTheDataPath(t *testing.T) {
	for _, p := range listPackages(t) {
		from := top(p.ImportPath)
		fs, ok := stage[from]
		if !ok {
			t.Errorf("package %s: directory %q has no stage in lint_test.go; add it", p.ImportPath, from)
			continue
		}
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module+"/") {
				continue
			}
			to := top(imp)
			ts, ok := stage[to]
			if !ok {
				continue // reported for the package itself
			}
			if ts > fs {
				t.Errorf("%s (stage %d) imports %s (stage %d): data flows one way", p.ImportPath, fs, imp, ts)
			}
			if to == "cmd" {
				t.Errorf("%s imports %s: nothing imports a command", p.ImportPath, imp)
			}
		}
	}
}
