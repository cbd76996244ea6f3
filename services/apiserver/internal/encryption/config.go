// Package encryption is encryption at rest, as Kubernetes does it: an
// EncryptionConfiguration file (apiserver.config.k8s.io/v1) names, per
// resource, the providers that transform stored values (aescbc, aesgcm,
// secretbox, identity, and KMS v2 through a plugin's gRPC API). The first
// provider writes; every provider reads the values that carry its prefix
// (k8s:enc:<provider>:v1:<key>: or k8s:enc:kms:v2:<name>:), and identity
// reads values without one. The stored bytes are Kubernetes' own, so an
// etcd moves between Kubernetes and Skiff with the same configuration.
package encryption

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// The file's type, as Kubernetes names it.
const (
	configAPIVersion = "apiserver.config.k8s.io/v1"
	configKind       = "EncryptionConfiguration"
)

// Configuration is an EncryptionConfiguration file.
type Configuration struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Resources are tried in order: the first list naming a resource
	// (exactly, by *.<group> or by *.*) holds its providers.
	Resources []ResourceConfiguration `json:"resources"`
}

// ResourceConfiguration is one list of resources and their providers.
type ResourceConfiguration struct {
	// Resources are "secrets" (core group), "<resource>.<group>",
	// "*.<group>", "*." (all of the core group) or "*.*".
	Resources []string `json:"resources"`
	// Providers: the first encrypts new writes; all decrypt.
	Providers []ProviderConfiguration `json:"providers"`
}

// ProviderConfiguration holds exactly one provider.
type ProviderConfiguration struct {
	AESGCM    *KeysConfiguration     `json:"aesgcm,omitempty"`
	AESCBC    *KeysConfiguration     `json:"aescbc,omitempty"`
	Secretbox *KeysConfiguration     `json:"secretbox,omitempty"`
	Identity  *IdentityConfiguration `json:"identity,omitempty"`
	KMS       *KMSConfiguration      `json:"kms,omitempty"`
}

// KeysConfiguration is the keys of aescbc, aesgcm or secretbox: the first
// encrypts, all decrypt.
type KeysConfiguration struct {
	Keys []Key `json:"keys"`
}

// Key is a named, base64-encoded secret key.
type Key struct {
	Name   string `json:"name"`
	Secret string `json:"secret"`
}

// IdentityConfiguration has no fields: identity stores values as they are.
type IdentityConfiguration struct{}

// KMSConfiguration names a KMS plugin.
type KMSConfiguration struct {
	// APIVersion is the plugin API: only v2 is served (Kubernetes'
	// default, v1, is refused as Kubernetes refuses it by default).
	APIVersion string `json:"apiVersion"`
	// Name is unique among the file's KMS providers and is part of the
	// stored prefix.
	Name string `json:"name"`
	// CacheSize belongs to KMS v1 and is refused with v2.
	CacheSize *int32 `json:"cachesize,omitempty"`
	// Endpoint is the plugin's gRPC socket: unix:///path (or
	// unix:///@name, an abstract socket).
	Endpoint string `json:"endpoint"`
	// Timeout bounds each call to the plugin; 3s when unset.
	Timeout *Duration `json:"timeout,omitempty"`
}

// Duration is a duration written as Go writes one ("3s").
type Duration struct{ time.Duration }

// UnmarshalJSON reads "3s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string such as \"3s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes "3s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// Defaults Kubernetes applies to a KMS provider.
const (
	defaultKMSTimeout    = 3 * time.Second
	defaultKMSAPIVersion = "v1"
)

// ReadFile reads, defaults and validates a configuration file, YAML or
// JSON; unknown fields are errors.
func ReadFile(path string) (*Configuration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("encryption provider configuration: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("encryption provider configuration %s: %w", path, err)
	}
	return c, nil
}

// Parse reads, defaults and validates a configuration.
func Parse(data []byte) (*Configuration, error) {
	if len(strings.TrimSpace(string(data))) == 0 {
		return nil, errors.New("the file is empty")
	}
	var c Configuration
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, err
	}
	if c.APIVersion != configAPIVersion || c.Kind != configKind {
		return nil, fmt.Errorf("apiVersion %q, kind %q: want apiVersion %s, kind %s", c.APIVersion, c.Kind, configAPIVersion, configKind)
	}
	c.setDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Configuration) setDefaults() {
	for i := range c.Resources {
		for _, p := range c.Resources[i].Providers {
			if k := p.KMS; k != nil {
				if k.Timeout == nil {
					k.Timeout = &Duration{defaultKMSTimeout}
				}
				if k.APIVersion == "" {
					k.APIVersion = defaultKMSAPIVersion
				}
			}
		}
	}
}
