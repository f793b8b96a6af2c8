// Package conf loads acd's YAML configuration strictly: defaults come from
// code (the caller passes a value already holding them), the file may set
// any subset of keys, every unknown key is reported (all of them, with
// their line numbers, not just the first), and environment variables
// override file values.
//
// Environment overrides are named after the YAML path of a leaf key:
// prefix, then the keys joined with "_" and upper-cased. With prefix
// "ACD_", collect.netflow.workers is ACD_COLLECT_NETFLOW_WORKERS. The
// value is parsed as YAML, so lists can be written "[a, b]" and durations
// "30s".
package conf

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// UnknownKeysError lists every key of the file that matches no field.
type UnknownKeysError struct {
	Keys []string // "path.to.key (line N)"
}

func (e *UnknownKeysError) Error() string {
	return "unknown configuration keys: " + strings.Join(e.Keys, ", ")
}

// Load decodes the YAML document data into dst, which must be a non-nil
// pointer to a struct already holding the defaults. Unknown keys are
// reported together in an *UnknownKeysError. An empty document leaves dst
// unchanged.
func Load(data []byte, dst any) error {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil
		}
		return fmt.Errorf("unable to parse YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return errors.New("unable to parse YAML: more than one document in the file")
	}
	doc := &root
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		doc = doc.Content[0]
	}
	if doc.Kind == yaml.ScalarNode && doc.Tag == "!!null" {
		return nil
	}
	t := reflect.TypeOf(dst)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return errors.New("conf: destination must be a pointer to a struct")
	}
	var unknown []string
	walk(doc, t.Elem(), "", &unknown)
	if len(unknown) > 0 {
		return &UnknownKeysError{Keys: unknown}
	}
	if err := doc.Decode(dst); err != nil {
		return fmt.Errorf("unable to decode configuration: %w", err)
	}
	return nil
}

var (
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	yamlUnmarshaler = reflect.TypeFor[yaml.Unmarshaler]()
)

// leaf reports whether t is decoded as a whole (no keys to check inside).
func leaf(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(textUnmarshaler) || pt.Implements(textUnmarshaler) ||
		t.Implements(yamlUnmarshaler) || pt.Implements(yamlUnmarshaler)
}

// walk appends to unknown the keys of n that have no field in t.
func walk(n *yaml.Node, t reflect.Type, path string, unknown *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if leaf(t) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // a type error; the decoder reports it
		}
		fields := structFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := join(path, k.Value)
			f, ok := fields[k.Value]
			if !ok {
				*unknown = append(*unknown, fmt.Sprintf("%s (line %d)", p, k.Line))
				continue
			}
			walk(v, f.Type, p, unknown)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			walk(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), unknown)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), unknown)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// structFields maps the YAML key of each field of t (inline structs
// flattened) to its field.
func structFields(t reflect.Type) map[string]reflect.StructField {
	m := make(map[string]reflect.StructField)
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			for k, v := range structFields(ft) {
				m[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f
	}
	return m
}

// Override is one environment variable applied to the configuration.
type Override struct {
	Env  string // e.g. ACD_HTTP_LISTEN
	Path string // e.g. http.listen
}

// ApplyEnv sets the leaf keys of dst named by environment variables that
// start with prefix. environ is in os.Environ form. It returns the
// overrides applied and the variables with the prefix that name no key
// (for a warning: other tools may share the prefix).
func ApplyEnv(dst any, prefix string, environ []string) (applied []Override, unmatched []string, err error) {
	t := reflect.TypeOf(dst)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil, nil, errors.New("conf: destination must be a pointer to a struct")
	}
	paths := map[string][]string{}
	leafPaths(t.Elem(), nil, paths)
	var errs []error
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, prefix) {
			continue
		}
		keys, ok := paths[strings.TrimPrefix(name, prefix)]
		if !ok {
			unmatched = append(unmatched, name)
			continue
		}
		doc := buildDoc(keys, value)
		var node yaml.Node
		if err := yaml.Unmarshal(doc, &node); err != nil {
			errs = append(errs, fmt.Errorf("%s: unable to parse value: %w", name, err))
			continue
		}
		if err := node.Decode(dst); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		applied = append(applied, Override{Env: name, Path: strings.Join(keys, ".")})
	}
	sort.Strings(unmatched)
	return applied, unmatched, errors.Join(errs...)
}

// buildDoc returns a YAML document setting keys to the raw value.
func buildDoc(keys []string, value string) []byte {
	var b strings.Builder
	for i, k := range keys {
		b.WriteString(strings.Repeat("  ", i))
		b.WriteString(k)
		b.WriteString(":")
		if i < len(keys)-1 {
			b.WriteString("\n")
		}
	}
	// The value goes in a block scalar-free form: as a flow value on the
	// same line. Values that would not parse as YAML are quoted.
	v := value
	var probe any
	if yaml.Unmarshal([]byte("k: "+v), &probe) != nil {
		v = fmt.Sprintf("%q", value)
	}
	b.WriteString(" ")
	b.WriteString(v)
	b.WriteString("\n")
	return []byte(b.String())
}

// leafPaths records, for every leaf key under t, its env name suffix
// (keys joined with "_", upper-cased) and its key path.
func leafPaths(t reflect.Type, keys []string, out map[string][]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || leaf(t) {
		if len(keys) > 0 {
			out[strings.ToUpper(strings.Join(keys, "_"))] = append([]string(nil), keys...)
		}
		return
	}
	for name, f := range structFields(t) {
		leafPaths(f.Type, append(keys, name), out)
	}
}
