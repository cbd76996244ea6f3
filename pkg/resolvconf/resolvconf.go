// Package resolvconf reads and writes resolv.conf files by the rules of
// Kubernetes' kubelet, for the kubelet's --resolv-conf and the node
// image's relay of the node's resolvers.
package resolvconf

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// MaxBytes bounds the file read, as the kubelet does (10 MiB).
const MaxBytes = 10 << 20

// ErrTooLarge is the error for a file of MaxBytes or more; its text is
// the kubelet's.
var ErrTooLarge = errors.New("the read limit is reached")

// errNoNameserver is the kubelet's text for a nameserver line without an
// address (trailing space included).
var errNoNameserver = errors.New("nameserver list is empty ")

// Config is what a resolv.conf says.
type Config struct {
	Nameservers []string
	Searches    []string
	Options     []string
}

// Parse reads a resolv.conf as Kubernetes' kubelet does: lines starting
// with '#' are comments; nameservers add up; the last search line wins,
// with trailing dots cut and "." dropped; options add up, a later one of
// the same name (before ':') replacing the earlier in place. Other lines,
// 'domain' among them, are ignored. A nameserver line without an address
// is an error, but the rest is still returned. The error texts are the
// kubelet's.
func Parse(r io.Reader) (Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBytes))
	if err != nil {
		return Config{}, err // as is: the kubelet's event texts are made of it
	}
	if len(data) >= MaxBytes {
		return Config{}, ErrTooLarge
	}
	var cfg Config
	var bad bool
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) < 2 {
				bad = true
				continue
			}
			cfg.Nameservers = append(cfg.Nameservers, f[1])
		case "search":
			cfg.Searches = searches(f[1:])
		case "options":
			cfg.Options = MergeOptions(cfg.Options, f[1:])
		}
	}
	if bad {
		return cfg, errNoNameserver
	}
	return cfg, nil
}

// searches is a search line's paths without trailing dots, "." dropped;
// never nil, so that an empty search line is told from none.
func searches(words []string) []string {
	out := []string{}
	for _, s := range words {
		if s != "." {
			out = append(out, strings.TrimSuffix(s, "."))
		}
	}
	return out
}

// MergeOptions adds options to base; one whose name (before ':') is
// already there replaces it in place.
func MergeOptions(base, add []string) []string {
	out := slices.Clone(base)
	for _, o := range add {
		name, _, _ := strings.Cut(o, ":")
		i := slices.IndexFunc(out, func(e string) bool { n, _, _ := strings.Cut(e, ":"); return n == name })
		if i >= 0 {
			out[i] = o
		} else {
			out = append(out, o)
		}
	}
	return out
}

// String is the configuration as a resolv.conf file.
func (c Config) String() string {
	var b strings.Builder
	for _, ns := range c.Nameservers {
		fmt.Fprintf(&b, "nameserver %s\n", ns)
	}
	if len(c.Searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(c.Searches, " "))
	}
	if len(c.Options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(c.Options, " "))
	}
	return b.String()
}
