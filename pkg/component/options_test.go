package component

import (
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// TestLeaderElectionFlags: the leader-election flags have Kubernetes'
// names and defaults, and their timing is validated as Kubernetes
// validates it.
func TestLeaderElectionFlags(t *testing.T) {
	o := NewOptions(10259, "kube-scheduler")
	le := o.LeaderElection
	if le.LeaseDuration != 15*time.Second || le.RenewDeadline != 10*time.Second || le.RetryPeriod != 2*time.Second ||
		le.ResourceNamespace != "kube-system" || le.ResourceName != "kube-scheduler" || !le.LeaderElect {
		t.Errorf("defaults: %+v", le)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string // "" for valid
	}{
		{"defaults", nil, ""},
		{"short timing", []string{"--leader-elect-lease-duration=3s", "--leader-elect-renew-deadline=2s", "--leader-elect-retry-period=500ms"}, ""},
		{"renew deadline not under the lease", []string{"--leader-elect-lease-duration=10s"},
			"renew deadline 10s must be less than the lease duration 10s"},
		{"renew deadline within the retry period's jitter", []string{"--leader-elect-renew-deadline=2s"},
			"renew deadline 2s must be greater than the retry period 2s times 1.2"},
		{"no retry period", []string{"--leader-elect-retry-period=0s"}, "retry period 0s must be greater than zero"},
		{"no renew deadline", []string{"--leader-elect-renew-deadline=0s"}, "--leader-elect-renew-deadline 0s: must be greater than zero"},
		{"lease under etcd's minimum", []string{"--leader-elect-lease-duration=1s"}, "--leader-elect-lease-duration 1s: must be at least 2s"},
		{"another namespace", []string{"--leader-elect-resource-namespace=default"}, ""},
		{"no namespace", []string{"--leader-elect-resource-namespace="}, "--leader-elect-resource-namespace must not be empty"},
		{"anything goes without election", []string{"--leader-elect=false", "--leader-elect-renew-deadline=1h", "--leader-elect-resource-namespace=x"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := NewOptions(10259, "kube-scheduler")
			o.Kubeconfig = "kubeconfig"
			fs := pflag.NewFlagSet("x", pflag.ContinueOnError)
			o.AddFlags(fs, "Schedule")
			if err := fs.Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			err := o.Validate()
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("got %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
