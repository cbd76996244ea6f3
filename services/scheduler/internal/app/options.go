// Package app is the scheduler process: flags, informers feeding the cache
// and queue, and the scheduling loop, started through pkg/component's
// skeleton (leader election, health, metrics and z-pages).
package app

import (
	"time"

	"github.com/spf13/pflag"

	"skiff.dev/pkg/component"
)

// Options are the scheduler's flags.
type Options struct {
	// Options are the flags every controlling component has; the secure
	// port is 10259 and the election kube-scheduler.
	component.Options
	Config        string
	BindTimeout   time.Duration
	AssumedPodTTL time.Duration
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	return &Options{
		Options:       component.NewOptions(10259, "kube-scheduler"),
		BindTimeout:   30 * time.Second,
		AssumedPodTTL: 30 * time.Second,
	}
}

// AddFlags registers the flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	o.Options.AddFlags(fs, "Schedule")
	fs.StringVar(&o.Config, "config", o.Config, "Scheduler configuration file (profiles and their plugins); the default profile when empty.")
	fs.DurationVar(&o.BindTimeout, "bind-timeout", o.BindTimeout, "How long a binding may take.")
	fs.DurationVar(&o.AssumedPodTTL, "assumed-pod-ttl", o.AssumedPodTTL, "How long a bound pod counts on its node before the binding is seen.")
}

// Validate checks the flags.
func (o *Options) Validate() error {
	return o.Options.Validate()
}
