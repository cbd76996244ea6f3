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
	// ResourceName names the election and the Lease in kube-system that
	// mirrors its holder.
	ResourceName string
	Identity     string
}

// NewOptions returns the defaults of a component whose secure port is
// securePort and whose election is election: leader election on with a
// 5s lease, profiling on, this host's name plus a random suffix as the
// identity.
func NewOptions(securePort int, election string) Options {
	host, _ := os.Hostname()
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	return Options{
		Observability: DefaultObservability(),
		LeaderElection: LeaderElection{LeaderElect: true, LeaseDuration: 5 * time.Second, ResourceName: election,
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
	fs.DurationVar(&le.LeaseDuration, "leader-elect-lease-duration", le.LeaseDuration, "How long a silent leader keeps the lead; it renews every third of it.")
	fs.StringVar(&le.ResourceName, "leader-elect-resource-name", le.ResourceName, "Name of the election and of the kube-system Lease that shows its holder.")
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
	if le.LeaderElect && le.LeaseDuration < 2*time.Second {
		errs = append(errs, fmt.Errorf("--leader-elect-lease-duration %v: must be at least 2s", le.LeaseDuration))
	}
	if le.LeaderElect && (le.ResourceName == "" || le.Identity == "") {
		errs = append(errs, errors.New("--leader-elect-resource-name and --leader-elect-identity must not be empty"))
	}
	errs = append(errs, o.Observability.Validate(), o.Serving.Validate())
	return errors.Join(errs...)
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
