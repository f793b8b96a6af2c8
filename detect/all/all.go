// Package all assembles the detection stage's configuration (key
// "detect": the engine's settings plus one section per detector) and
// builds the enabled detectors.
package all

import (
	"errors"

	"github.com/acd-org/acd/detect"
	"github.com/acd-org/acd/detect/beacon"
	"github.com/acd-org/acd/detect/bruteforce"
	"github.com/acd-org/acd/detect/ddos"
	"github.com/acd-org/acd/detect/reflection"
	"github.com/acd-org/acd/detect/scan"
)

// Config is the "detect" section.
type Config struct {
	detect.Config `yaml:",inline"`
	Scan          scan.Config       `yaml:"scan"`
	Bruteforce    bruteforce.Config `yaml:"bruteforce"`
	DDoS          ddos.Config       `yaml:"ddos"`
	Reflection    reflection.Config `yaml:"reflection"`
	Beacon        beacon.Config     `yaml:"beacon"`
}

// DefaultConfig turns every detector on with its defaults.
func DefaultConfig() Config {
	return Config{
		Config:     detect.DefaultConfig(),
		Scan:       scan.DefaultConfig(),
		Bruteforce: bruteforce.DefaultConfig(),
		DDoS:       ddos.DefaultConfig(),
		Reflection: reflection.DefaultConfig(),
		Beacon:     beacon.DefaultConfig(),
	}
}

// Names returns the detectors' names.
func Names() []string {
	return []string{scan.Name, bruteforce.Name, ddos.Name, reflection.Name, beacon.Name}
}

// Validate checks every section.
func (c Config) Validate() error {
	return errors.Join(c.Config.Validate(Names()...), c.Scan.Validate(), c.Bruteforce.Validate(),
		c.DDoS.Validate(), c.Reflection.Validate(), c.Beacon.Validate())
}

// Build makes a fresh set of the enabled detectors.
func (c Config) Build() ([]detect.Detector, error) {
	var out []detect.Detector
	var errs []error
	add := func(enabled bool, d detect.Detector, err error) {
		switch {
		case err != nil:
			errs = append(errs, err)
		case enabled:
			out = append(out, d)
		}
	}
	if c.Scan.Enabled {
		d, err := scan.New(c.Scan)
		add(true, d, err)
	}
	if c.Bruteforce.Enabled {
		d, err := bruteforce.New(c.Bruteforce)
		add(true, d, err)
	}
	if c.DDoS.Enabled {
		d, err := ddos.New(c.DDoS)
		add(true, d, err)
	}
	if c.Reflection.Enabled {
		d, err := reflection.New(c.Reflection)
		add(true, d, err)
	}
	if c.Beacon.Enabled {
		d, err := beacon.New(c.Beacon)
		add(true, d, err)
	}
	return out, errors.Join(errs...)
}

// DetectorOf names the detector that finds a role (the victim of a DDoS
// is found by ddos and reflection alike).
func DetectorOf(r detect.Role) string {
	switch r {
	case detect.RoleScanner:
		return scan.Name
	case detect.RoleBruteforce:
		return bruteforce.Name
	case detect.RoleDDoSSource:
		return ddos.Name
	case detect.RoleDDoSVictim:
		return ddos.Name + "+" + reflection.Name
	case detect.RoleReflector:
		return reflection.Name
	case detect.RoleC2:
		return beacon.Name
	}
	return ""
}
