package taxii

import (
	"errors"
	"fmt"
	"strings"
)

// Config is the TAXII server's configuration.
type Config struct {
	// Title, Description and Contact are shown by discovery.
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	Contact     string `yaml:"contact"`
	// URL is the server's external base URL (e.g. "https://acd.example:8443"),
	// used for the API root URLs in discovery. Empty: taken from the request.
	URL string `yaml:"url"`
	// Default is the name of the default API root; empty for none.
	Default string `yaml:"default"`
	// MaxPageSize caps limit (default 1000); it is also the page size
	// when the client gives no limit.
	MaxPageSize int `yaml:"max_page_size"`
	// APIRoots are the API roots, served at /{name}/.
	APIRoots []APIRootConfig `yaml:"api_roots"`
}

// APIRootConfig is one API root.
type APIRootConfig struct {
	Name        string `yaml:"name"` // path segment
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	// MaxContentLength is the largest POST body accepted, in bytes
	// (default 10 MiB).
	MaxContentLength int64              `yaml:"max_content_length"`
	Collections      []CollectionConfig `yaml:"collections"`
}

// CollectionConfig is one collection and who may use it.
type CollectionConfig struct {
	ID          string `yaml:"id"` // a UUID
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	Alias       string `yaml:"alias"`
	// Read and Write list the principals allowed to read (GET) and
	// write (POST, DELETE); "*" is any authenticated principal. They
	// are the default Policy (ConfigPolicy).
	Read  []string `yaml:"read"`
	Write []string `yaml:"write"`
}

// Default values.
const (
	DefaultMaxPageSize      = 1000
	DefaultMaxContentLength = 10 << 20
)

// DefaultConfig returns the defaults: no API roots.
func DefaultConfig() Config {
	return Config{Title: "acd TAXII server", MaxPageSize: DefaultMaxPageSize}
}

// setDefaults fills zero values.
func (c *Config) setDefaults() {
	if c.MaxPageSize == 0 {
		c.MaxPageSize = DefaultMaxPageSize
	}
	for i := range c.APIRoots {
		if c.APIRoots[i].MaxContentLength == 0 {
			c.APIRoots[i].MaxContentLength = DefaultMaxContentLength
		}
	}
}

// Validate checks the configuration and lists every problem.
func (c Config) Validate() error {
	var errs []error
	if c.MaxPageSize < 0 {
		errs = append(errs, fmt.Errorf("max_page_size %d is negative", c.MaxPageSize))
	}
	roots := map[string]bool{}
	cols := map[string]bool{}
	for _, r := range c.APIRoots {
		switch {
		case r.Name == "" || strings.ContainsAny(r.Name, "/?#%") || r.Name == "." || r.Name == "..":
			errs = append(errs, fmt.Errorf("api root name %q is not a path segment", r.Name))
		case r.Name == "taxii2":
			errs = append(errs, errors.New(`api root name "taxii2" is the discovery path`))
		case roots[r.Name]:
			errs = append(errs, fmt.Errorf("api root %q is defined twice", r.Name))
		}
		roots[r.Name] = true
		if r.MaxContentLength < 0 {
			errs = append(errs, fmt.Errorf("api root %q: max_content_length %d is negative", r.Name, r.MaxContentLength))
		}
		for _, col := range r.Collections {
			if !isUUID(col.ID) {
				errs = append(errs, fmt.Errorf("api root %q: collection id %q is not a UUID", r.Name, col.ID))
			}
			if cols[col.ID] {
				errs = append(errs, fmt.Errorf("api root %q: collection %q is defined twice", r.Name, col.ID))
			}
			cols[col.ID] = true
		}
	}
	if c.Default != "" && !roots[c.Default] {
		errs = append(errs, fmt.Errorf("default api root %q is not defined", c.Default))
	}
	return errors.Join(errs...)
}
