// Command controlplane-pki is the helper program of charts/skiff, run by
// the chart's hook Jobs and test Pod (docs/helm.md):
//
//	controlplane-pki generate --release=R --namespace=NS ...   pre-install, pre-upgrade: the Secrets of certificates, keys and kubeconfigs
//	controlplane-pki delete --release=R --namespace=NS         post-delete: the Secrets generate made
//	controlplane-pki join --hosted-kubeconfig=F --token-file=T post-install: the node bootstrap token and kubeadm's join bindings in the hosted control plane
//	controlplane-pki check --hosted-kubeconfig=F               helm test: the hosted apiserver ready, every leader-elected component leading
//
// generate and delete talk to the hosting cluster, in-cluster as the
// Job's ServiceAccount (or with --kubeconfig); join and check talk to the
// hosted control plane with its admin kubeconfig.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"skiff.dev/services/apiserver/internal/chartpki"
)

const usage = `usage: controlplane-pki generate|delete|join|check [flags]; controlplane-pki CMD -h lists CMD's flags`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, usage)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmds := map[string]func(context.Context, []string) error{"generate": generate, "delete": deleteSecrets, "join": join, "check": check}
	run, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "controlplane-pki: unknown command %q\n%s\n", os.Args[1], usage)
		os.Exit(2)
	}
	if err := run(ctx, os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "controlplane-pki %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

// hostingFlags are the flags of the commands that keep the Secrets.
func hostingFlags(name string, c *chartpki.Config) (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	fs.StringVar(&c.Release, "release", "", "The release's fullname, the prefix of every Secret.")
	fs.StringVar(&c.Namespace, "namespace", os.Getenv("POD_NAMESPACE"), "The hosting namespace of the Secrets (default $POD_NAMESPACE).")
	kubeconfig := fs.String("kubeconfig", "", "Kubeconfig of the hosting cluster; empty: the in-cluster ServiceAccount.")
	return fs, kubeconfig
}

func generate(ctx context.Context, args []string) error {
	c := chartpki.Config{}
	fs, kubeconfig := hostingFlags("generate", &c)
	fs.StringVar(&c.ClusterDomain, "cluster-domain", "cluster.local", "The hosting cluster's DNS domain.")
	fs.DurationVar(&c.NodeTokenTTL, "node-bootstrap-token-ttl", 24*time.Hour, "How long a new node bootstrap token authenticates (kubeadm's --token-ttl); an expired one is replaced at the next run; 0: never expires.")
	fs.StringVar(&c.Instance, "instance", "", "The Helm release's name, the Secrets' app.kubernetes.io/instance label (empty: no such label).")
	fs.IntVar(&c.EtcdReplicas, "etcd-replicas", 3, "Members of the etcd StatefulSet (odd).")
	hosts := fs.String("apiserver-hosts", "", "Comma-separated extra names and IP addresses of the apiserver's serving certificate (its LoadBalancer address, node addresses, external names).")
	fs.StringVar(&c.ServiceClusterIPRange, "service-cluster-ip-range", "10.96.0.0/12", "The hosted apiserver's --service-cluster-ip-range; its first address goes into the serving certificate.")
	fs.StringVar(&c.Server, "server", "", "URL of the apiserver the components' kubeconfigs name (default https://<release>-apiserver.<namespace>.svc:6443).")
	fs.StringVar(&c.ExternalServer, "admin-server", "", "URL of the apiserver in the kubeconfigs used outside the hosting cluster: the admin's, the node bootstrap and the proxy ones (default --server).")
	dir := fs.String("dir", "", "Scratch directory for the material (default: a new temporary one, removed afterwards).")
	_ = fs.Parse(args)
	c.APIServerHosts = splitList(*hosts)
	if c.Server == "" {
		c.Server = "https://" + c.APIServerService() + "." + c.Namespace + ".svc:6443"
	}
	cs, err := clientset(*kubeconfig, "")
	if err != nil {
		return err
	}
	if *dir == "" {
		if *dir, err = os.MkdirTemp("", "controlplane-pki-"); err != nil {
			return err
		}
		defer os.RemoveAll(*dir)
	}
	res, err := chartpki.Apply(ctx, cs, c, *dir)
	if err != nil {
		return err
	}
	slog.Info("control plane Secrets", "namespace", c.Namespace, "created", res.Created, "kept", res.Kept)
	return nil
}

func deleteSecrets(ctx context.Context, args []string) error {
	c := chartpki.Config{}
	fs, kubeconfig := hostingFlags("delete", &c)
	_ = fs.Parse(args)
	if c.Release == "" || c.Namespace == "" {
		return errors.New("--release and --namespace are required")
	}
	cs, err := clientset(*kubeconfig, "")
	if err != nil {
		return err
	}
	deleted, err := chartpki.Delete(ctx, cs, c)
	slog.Info("deleted the generated Secrets", "namespace", c.Namespace, "deleted", deleted)
	return err
}

// hostedFlags are the flags of the commands that talk to the hosted
// control plane, which they retry until --timeout: it may still be
// starting.
func hostedFlags(name string) (fs *flag.FlagSet, kubeconfig, server *string, timeout *time.Duration) {
	fs = flag.NewFlagSet(name, flag.ExitOnError)
	kubeconfig = fs.String("hosted-kubeconfig", "", "Admin kubeconfig of the hosted control plane.")
	server = fs.String("server", "", "URL of the hosted apiserver, instead of the kubeconfig's (the in-cluster Service when the kubeconfig names an outside address).")
	timeout = fs.Duration("timeout", 5*time.Minute, "How long to keep trying.")
	return fs, kubeconfig, server, timeout
}

func join(ctx context.Context, args []string) error {
	fs, kubeconfig, server, timeout := hostedFlags("join")
	tokenFile := fs.String("token-file", "", "File holding the node bootstrap token, <id>.<secret>.")
	expirationFile := fs.String("expiration-file", "", "File holding when the token expires (RFC 3339); missing or empty: never.")
	_ = fs.Parse(args)
	token, err := os.ReadFile(*tokenFile)
	if err != nil {
		return fmt.Errorf("--token-file: %w", err)
	}
	expires, err := readExpiration(*expirationFile)
	if err != nil {
		return err
	}
	cs, err := clientset(*kubeconfig, *server)
	if err != nil {
		return err
	}
	return retry(ctx, *timeout, func(ctx context.Context) error { return chartpki.Join(ctx, cs, string(token), expires) })
}

// readExpiration reads the token's expiration from path: zero (never)
// when path is empty, missing (a Secret brought without the key) or
// holds nothing.
func readExpiration(path string) (time.Time, error) {
	if path == "" {
		return time.Time{}, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) || (err == nil && strings.TrimSpace(string(b)) == "") {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("--expiration-file: %w", err)
	}
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(b)))
	if err != nil {
		return time.Time{}, fmt.Errorf("--expiration-file %s: %w", path, err)
	}
	return t, nil
}

func check(ctx context.Context, args []string) error {
	fs, kubeconfig, server, timeout := hostedFlags("check")
	_ = fs.Parse(args)
	cs, err := clientset(*kubeconfig, *server)
	if err != nil {
		return err
	}
	if err := retry(ctx, *timeout, func(ctx context.Context) error { return chartpki.Check(ctx, cs) }); err != nil {
		return err
	}
	fmt.Printf("the apiserver is ready and %s each have a leader\n", strings.Join(chartpki.Leases, ", "))
	return nil
}

// retry calls f every 2 s until it succeeds or timeout passes, and
// returns its last error then.
func retry(ctx context.Context, timeout time.Duration, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		err := f(ctx)
		if err == nil {
			return nil
		}
		slog.Info("not yet", "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up after %s: %w", timeout, err)
		case <-tick.C:
		}
	}
}

// clientset connects with a kubeconfig, or in-cluster without one;
// server replaces the kubeconfig's URL.
func clientset(kubeconfig, server string) (*kubernetes.Clientset, error) {
	var cfg *rest.Config
	var err error
	if kubeconfig == "" {
		cfg, err = rest.InClusterConfig()
	} else {
		cfg, err = clientcmd.BuildConfigFromFlags(server, kubeconfig)
	}
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = "controlplane-pki"
	return kubernetes.NewForConfig(cfg)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
