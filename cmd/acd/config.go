package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/cases"
	"github.com/acd-org/acd/cases/notify"
	"github.com/acd-org/acd/collect"
	"github.com/acd-org/acd/conf"
	"github.com/acd-org/acd/console/web"
	"github.com/acd-org/acd/detect/all"
	"github.com/acd-org/acd/minimize"
	"github.com/acd-org/acd/store"
	"github.com/acd-org/acd/verify"
)

// envPrefix starts the environment variables that override configuration
// keys: ACD_HTTP_LISTEN overrides http.listen.
const envPrefix = "ACD_"

// config is acd's whole configuration. Each package owns its part and its
// defaults; this struct only assembles them.
type config struct {
	Log     logConfig       `yaml:"log"`
	HTTP    web.Config      `yaml:"http"`
	Collect collect.Config  `yaml:"collect"`
	Screen  minimize.Config `yaml:"screen"`
	Detect  all.Config      `yaml:"detect"`
	Audit   audit.Config    `yaml:"audit"`
	Cases   cases.Policy    `yaml:"cases"`
	Enforce enforceConfig   `yaml:"enforce"`
	Verify  verify.Config   `yaml:"verify"`
	Notify  notify.Config   `yaml:"notify"`
	Intel   intelConfig     `yaml:"intel"`
	Store   store.Config    `yaml:"store"`
}

func defaultConfig() config {
	return config{
		Log:     defaultLogConfig(),
		HTTP:    web.DefaultConfig(),
		Collect: collect.DefaultConfig(),
		Screen:  minimize.DefaultConfig(),
		Detect:  all.DefaultConfig(),
		Audit:   audit.DefaultConfig(),
		Cases:   cases.DefaultPolicy(),
		Enforce: defaultEnforceConfig(),
		Verify:  verify.DefaultConfig(),
		Notify:  notify.DefaultConfig(),
		Intel:   defaultIntelConfig(),
		Store:   store.DefaultConfig(),
	}
}

func (c config) validate() error {
	return errors.Join(c.Log.validate(), c.HTTP.Validate(), c.Collect.Validate(), c.Screen.Validate(), c.Detect.Validate(), c.Audit.Validate(), c.Store.Validate(), c.casesValidate(), c.Enforce.validate(), c.Verify.Validate(), c.Notify.Validate(), c.Intel.validate())
}

// casesValidate checks the cases policy, naming the section.
func (c config) casesValidate() error {
	if err := c.Cases.Validate(); err != nil {
		return fmt.Errorf("cases: %w", err)
	}
	return nil
}

// loadedConfig is a configuration with where it came from.
type loadedConfig struct {
	config
	path      string          // "" for the embedded default
	overrides []conf.Override // environment variables applied
	ignored   []string        // ACD_* variables that name no key
}

// loadConfig reads path (empty: defaults only), applies environment
// overrides and validates the result.
func loadConfig(path string, environ []string) (*loadedConfig, error) {
	lc := &loadedConfig{config: defaultConfig(), path: path}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("unable to read configuration: %w", err)
		}
		if err := conf.Load(data, &lc.config); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	var err error
	lc.overrides, lc.ignored, err = conf.ApplyEnv(&lc.config, envPrefix, environ)
	if err != nil {
		return nil, fmt.Errorf("environment: %w", err)
	}
	if err := lc.validate(); err != nil {
		where := "defaults"
		if path != "" {
			where = path
		}
		return nil, fmt.Errorf("invalid configuration (%s):\n%w", where, err)
	}
	return lc, nil
}
