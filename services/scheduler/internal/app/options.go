// Package app is the scheduler process: flags, informers feeding the cache
// and queue, leader election, and the health and metrics endpoints.
package app

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"skiff.dev/pkg/component"
	"skiff.dev/pkg/healthz"
)

// Options are the scheduler's flags.
type Options struct {
	component.Observability
	Kubeconfig    string
	Config        string
	LeaderElect   bool
	LeaseDuration time.Duration
	Identity      string
	// Serving is the secure port (10259): health to anyone, metrics and
	// profiles to users the apiserver authorizes.
	Serving       healthz.SecureServing
	BindTimeout   time.Duration
	AssumedPodTTL time.Duration
	Profiling     bool
}

// NewOptions returns the defaults.
func NewOptions() *Options {
	host, _ := os.Hostname()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	return &Options{
		Observability: component.DefaultObservability(),
		LeaderElect:   true,
		LeaseDuration: 5 * time.Second,
		Identity:      host + "_" + hex.EncodeToString(suffix),
		Serving:       healthz.NewSecureServing(10259),
		BindTimeout:   30 * time.Second,
		AssumedPodTTL: 30 * time.Second,
		Profiling:     true,
	}
}

// AddFlags registers the flags.
func (o *Options) AddFlags(fs *pflag.FlagSet) {
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Kubeconfig of the apiserver (token authentication).")
	fs.StringVar(&o.Config, "config", o.Config, "Scheduler configuration file (profiles and their plugins); the default profile when empty.")
	fs.BoolVar(&o.LeaderElect, "leader-elect", o.LeaderElect, "Schedule only while leading the kube-scheduler election, so replicas can stand by.")
	fs.DurationVar(&o.LeaseDuration, "leader-elect-lease-duration", o.LeaseDuration, "How long a silent leader keeps the lead.")
	fs.StringVar(&o.Identity, "leader-elect-identity", o.Identity, "This replica's name in the election.")
	o.Serving.AddFlags(fs)
	o.Observability.AddFlags(fs)
	fs.DurationVar(&o.BindTimeout, "bind-timeout", o.BindTimeout, "How long a binding may take.")
	fs.BoolVar(&o.Profiling, "profiling", o.Profiling, "Serve Go profiles under /debug/pprof/ on the secure port.")
	fs.DurationVar(&o.AssumedPodTTL, "assumed-pod-ttl", o.AssumedPodTTL, "How long a bound pod counts on its node before the binding is seen.")
}

// Validate checks the flags.
func (o *Options) Validate() error {
	var errs []error
	if o.Kubeconfig == "" {
		errs = append(errs, errors.New("--kubeconfig is required"))
	}
	if o.LeaderElect && o.LeaseDuration < 2*time.Second {
		errs = append(errs, fmt.Errorf("--leader-elect-lease-duration %v: must be at least 2s", o.LeaseDuration))
	}
	if err := o.Observability.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := o.Serving.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
