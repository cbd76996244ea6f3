package component

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"skiff.dev/pkg/healthz"
	"skiff.dev/pkg/leaderelection"
)

// Options are the flags a controlling component (scheduler,
// controller-manager, cloud-controller) shares, with Kubernetes' names:
// the apiserver's kubeconfig, leader election, the secure port and
// profiling, and the logs and traces. Components embed them in their own
// options.
type Options struct {
	Observability
	Kubeconfig     string
	LeaderElection LeaderElection
	// Serving is the secure port: health to anyone, metrics, profiles
	// and z-pages to users the apiserver authorizes.
	Serving   healthz.SecureServing
	Profiling bool

	// flags is the flag set AddFlags registered into, for /flagz.
	flags *pflag.FlagSet
}

// LeaderElection are the --leader-elect flags.
type LeaderElection struct {
	LeaderElect   bool
	LeaseDuration time.Duration
	// RenewDeadline is how long the leader acts on without a successful
	// renewal; RetryPeriod how often it renews and candidates retry.
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
	// ResourceName names the election and the Lease in ResourceNamespace
	// that mirrors its holder.
	ResourceName      string
	ResourceNamespace string
	Identity          string
}

// ElectionNamespace is where the election's Lease is by default.
const ElectionNamespace = "kube-system"

// NewOptions returns the defaults of a component whose secure port is
// securePort and whose election is election: leader election on with
// Kubernetes' timing (a 15s lease, a 10s renew deadline, renewals every
// 2s) in kube-system, profiling on, this host's name plus a random suffix
// as the identity.
func NewOptions(securePort int, election string) Options {
	host, _ := os.Hostname()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	return Options{
		Observability: DefaultObservability(),
		LeaderElection: LeaderElection{LeaderElect: true, LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second,
			RetryPeriod: 2 * time.Second, ResourceName: election, ResourceNamespace: ElectionNamespace,
			Identity: host + "_" + hex.EncodeToString(suffix)},
		Serving:   healthz.NewSecureServing(securePort),
		Profiling: true,
	}
}

// AddFlags registers the shared flags; what says what the leader does
// ("Schedule", "Run the controllers").
func (o *Options) AddFlags(fs *pflag.FlagSet, what string) {
	o.flags = fs
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Kubeconfig of the apiserver (token authentication).")
	le := &o.LeaderElection
	fs.BoolVar(&le.LeaderElect, "leader-elect", le.LeaderElect, what+" only while leading the election (--leader-elect-resource-name), so replicas can stand by.")
	fs.DurationVar(&le.LeaseDuration, "leader-elect-lease-duration", le.LeaseDuration, "How long a silent leader keeps the lead, and candidates wait for it; at least 2s.")
	fs.DurationVar(&le.RenewDeadline, "leader-elect-renew-deadline", le.RenewDeadline, "How long the leader keeps acting without a successful renewal; less than the lease duration.")
	fs.DurationVar(&le.RetryPeriod, "leader-elect-retry-period", le.RetryPeriod, "How often the leader renews its lease, and how long a candidate waits before trying again.")
	fs.StringVar(&le.ResourceName, "leader-elect-resource-name", le.ResourceName, "Name of the election and of the Lease that shows its holder.")
	fs.StringVar(&le.ResourceNamespace, "leader-elect-resource-namespace", le.ResourceNamespace, "Namespace of the Lease that shows the election's holder.")
	fs.StringVar(&le.Identity, "leader-elect-identity", le.Identity, "This replica's name in the election.")
	o.Serving.AddFlags(fs)
	fs.BoolVar(&o.Profiling, "profiling", o.Profiling, "Serve Go profiles under /debug/pprof/ on the secure port.")
	o.Observability.AddFlags(fs)
}

// Validate checks the shared flags.
func (o *Options) Validate() error {
	var errs []error
	if o.Kubeconfig == "" {
		errs = append(errs, errors.New("--kubeconfig is required"))
	}
	le := o.LeaderElection
	if le.LeaderElect {
		errs = append(errs, le.validateTimes())
		if le.ResourceNamespace == "" {
			errs = append(errs, errors.New("--leader-elect-resource-namespace must not be empty"))
		}
	}
	if le.LeaderElect && (le.ResourceName == "" || le.Identity == "") {
		errs = append(errs, errors.New("--leader-elect-resource-name and --leader-elect-identity must not be empty"))
	}
	errs = append(errs, o.Observability.Validate(), o.Serving.Validate())
	return errors.Join(errs...)
}

// validateTimes checks the lease duration, renew deadline and retry
// period as Kubernetes does.
func (le LeaderElection) validateTimes() error {
	if le.LeaseDuration < 2*time.Second {
		return fmt.Errorf("--leader-elect-lease-duration %v: must be at least 2s", le.LeaseDuration)
	}
	if le.RenewDeadline <= 0 {
		return fmt.Errorf("--leader-elect-renew-deadline %v: must be greater than zero", le.RenewDeadline)
	}
	if err := leaderelection.CheckTimes(le.LeaseDuration, le.RenewDeadline, le.RetryPeriod); err != nil {
		return fmt.Errorf("--leader-elect-lease-duration, --leader-elect-renew-deadline, --leader-elect-retry-period: %w", err)
	}
	return nil
}

// Flags are every registered flag's value in use, by name.
func (o *Options) Flags() map[string]string { return FlagValues(o.flags) }

// FlagValues are every flag of fs with its value in use, by name (none
// for a nil fs), as /flagz shows them.
func FlagValues(fs *pflag.FlagSet) map[string]string {
	out := map[string]string{}
	if fs != nil {
		fs.VisitAll(func(f *pflag.Flag) { out[f.Name] = f.Value.String() })
	}
	return out
}
