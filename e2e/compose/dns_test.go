package compose

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

// clusterDNS is the cluster DNS Service's address (deploy/addons, the
// kubelets' --cluster-dns).
const clusterDNS = "10.96.0.10"

// dnsManifest is what the cluster DNS test resolves: a headless Service
// (its pods are webPod's), an ExternalName Service, and a pod with its own
// DNS settings. Every pod runs the test image. (The walkthrough makes a
// Service "web" later on the same stack: these names differ.)
const dnsManifest = `apiVersion: v1
kind: Service
metadata: {name: peers}
spec:
  clusterIP: None
  selector: {app: peers}
  ports: [{name: http, port: 80, targetPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: example.org}
---
apiVersion: v1
kind: Pod
metadata: {name: own-dns}
spec:
  dnsPolicy: None
  dnsConfig:
    nameservers: [10.96.0.10]
    searches: [example.test]
    options: [{name: ndots, value: "2"}]
  containers: [{name: c, image: IMAGE}]
`

// webPod is one of the headless Service's pods (NAME, READY_PORT: the port
// of its readiness probe, which only 8080 answers).
const webPod = `
---
apiVersion: v1
kind: Pod
metadata: {name: NAME, labels: {app: peers}}
spec:
  hostname: NAME
  subdomain: peers
  containers:
  - name: c
    image: IMAGE
    ports: [{containerPort: 8080}]
    readinessProbe: {httpGet: {path: /hostname, port: READY_PORT}, periodSeconds: 2}`

// dnsObjects is dnsManifest and three pods of the headless Service for
// image: peer-0 and peer-1 get ready, peer-2 does not.
func dnsObjects(image string) string {
	m := dnsManifest
	for i, port := range []string{"8080", "8080", "9"} {
		m += strings.NewReplacer("NAME", fmt.Sprintf("peer-%d", i), "READY_PORT", port).Replace(webPod)
	}
	return strings.ReplaceAll(m, "IMAGE", image)
}

// checkDNS: from a pod (the walkthrough's first, with the cluster DNS of
// dnsPolicy ClusterFirst), names resolve as in Kubernetes, through the
// CoreDNS add-on make up started.
func (s *stack) checkDNS(t *testing.T, pod, image string) {
	s.mustKubectl(t, dnsObjects(image), "apply", "-f", "-")
	t.Cleanup(func() {
		_, _ = s.kubectl(t, "delete", "--wait=false", "service/peers", "service/ext", "pod/peer-0", "pod/peer-1", "pod/peer-2", "pod/own-dns")
	})
	ips := s.podIPs(t, "peer-0", "peer-1")
	lookup := func(args ...string) func() (string, error) {
		return func() (string, error) {
			return s.kubectl(t, append([]string{"exec", pod, "--", "nslookup"}, args...)...)
		}
	}
	t.Run("Service by short name, name.ns and FQDN", func(t *testing.T) {
		ip := strings.TrimSpace(s.mustKubectl(t, "", "get", "service", "hello", "-o", "jsonpath={.spec.clusterIP}"))
		for _, name := range []string{"hello", "hello.default", "hello.default.svc.cluster.local"} {
			s.answers(t, lookup(name), ip)
		}
	})
	t.Run("headless Service", func(t *testing.T) {
		s.answers(t, lookup("peers"), ips...)
		s.answers(t, lookup("peer-0.peers.default.svc.cluster.local"), ips[0])
		s.answers(t, lookup("_http._tcp.peers.default.svc.cluster.local", "SRV"),
			"0 50 8080 peer-0.peers.default.svc.cluster.local.", "0 50 8080 peer-1.peers.default.svc.cluster.local.")
	})
	t.Run("ExternalName Service", func(t *testing.T) {
		s.answers(t, func() (string, error) {
			out, err := s.kubectl(t, "exec", pod, "--", "dig", clusterDNS, "ext.default.svc.cluster.local", "CNAME")
			return strings.TrimPrefix(out, "rcode Success\n"), err
		}, "ext.default.svc.cluster.local. CNAME example.org.")
	})
	t.Run("a name outside the cluster through the forwarder", func(t *testing.T) {
		registry := strings.TrimSpace(s.mustDocker(t, "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", s.container(t, "registry")))
		s.answers(t, lookup("registry"), registry)
	})
	t.Run("dnsPolicy None", func(t *testing.T) {
		s.podIPs(t, "own-dns")
		got := strings.Split(strings.TrimSpace(s.mustKubectl(t, "", "exec", "own-dns", "--", "cat", "/etc/resolv.conf")), "\n")
		slices.Sort(got)
		want := []string{"nameserver 10.96.0.10", "options ndots:2", "search example.test"}
		if !slices.Equal(got, want) {
			t.Errorf("got resolv.conf lines %q, want exactly %q", got, want)
		}
	})
	t.Run("CoreDNS is the unmodified upstream program", func(t *testing.T) { s.checkUpstreamCoreDNS(t) })
}

// checkUpstreamCoreDNS: the add-on's pods run the program `go build
// github.com/coredns/coredns` made (bin/coredns): the same version line
// and the same plugins as upstream's full set.
func (s *stack) checkUpstreamCoreDNS(t *testing.T) {
	pods := strings.Fields(s.mustKubectl(t, "", "get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns", "-o", "jsonpath={.items[*].metadata.name}"))
	if len(pods) != 2 {
		t.Fatalf("got CoreDNS pods %v, want the Deployment's 2", pods)
	}
	for _, flag := range []string{"-version", "-plugins"} {
		want, err := exec.Command(filepath.Join(s.bin, "coredns"), flag).Output()
		if err != nil {
			t.Fatalf("bin/coredns %s: %v", flag, err)
		}
		got := s.mustKubectl(t, "", "exec", "-n", "kube-system", pods[0], "--", "/coredns", flag)
		if got != string(want) {
			t.Errorf("/coredns %s in the pod: got %q, want bin/coredns's %q", flag, got, want)
		}
		if flag == "-version" && !strings.HasPrefix(got, "CoreDNS-1.") {
			t.Errorf("/coredns -version: got %q, want CoreDNS-1.x", got)
		}
	}
}

// checkAddonFailure: deploy/compose/up.sh with a CoreDNS whose new pods
// cannot start (a Corefile path that does not exist) fails once
// SKIFF_UP_TIMEOUT has passed and prints the add-on's pods, events and
// logs. The cluster keeps the broken Deployment.
func (s *stack) checkAddonFailure(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(s.root, "deploy", "addons", "coredns.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), `args: ["-conf", "/etc/coredns/Corefile"]`, `args: ["-conf", "/etc/coredns/Missing"]`, 1)
	if broken == string(data) {
		t.Fatal("deploy/addons/coredns.yaml has no -conf argument to break")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "coredns.yaml"), []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	env := s.env
	s.env = append(slices.Clone(env), "SKIFF_ADDONS="+dir, "SKIFF_UP_TIMEOUT=60")
	defer func() { s.env = env }()
	out, err := s.run(5*time.Minute, "deploy/compose/up.sh")
	if err == nil {
		t.Fatalf("up.sh with a CoreDNS that cannot start: succeeded, want a failure:\n%s", tail(out, 40))
	}
	for _, want := range []string{"make up: gave up waiting for the CoreDNS Deployment", "----- kubectl -n kube-system get events -----",
		"----- logs of the add-on pods -----", "/etc/coredns/Missing"} {
		if !strings.Contains(out, want) {
			t.Errorf("up.sh's output has no %q:\n%s", want, tail(out, 60))
		}
	}
}

// answers asks until the lookup's lines are exactly want, in any order.
func (s *stack) answers(t testing.TB, ask func() (string, error), want ...string) {
	t.Helper()
	want = slices.Sorted(slices.Values(want)) // not the caller's slice
	framework.Eventually(t, 2*time.Minute, fmt.Sprintf("answers %q", want), func() error {
		out, err := ask()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		got := strings.Split(strings.TrimSpace(out), "\n")
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("got %q, want %q", got, want)
		}
		return nil
	})
}

// podIPs waits until the pods run and returns their IPs.
func (s *stack) podIPs(t testing.TB, pods ...string) []string {
	t.Helper()
	ips := make([]string, len(pods))
	for i, pod := range pods {
		framework.Eventually(t, 3*time.Minute, "pod "+pod+" running", func() error {
			out, err := s.kubectl(t, "get", "pod", pod, "-o", "jsonpath={.status.phase} {.status.podIP}")
			if f := strings.Fields(out); err != nil || len(f) != 2 || f[0] != "Running" {
				return fmt.Errorf("pod %s: %q, %v", pod, out, err)
			}
			ips[i] = strings.Fields(out)[1]
			return nil
		})
	}
	return ips
}

// container is the ID of a compose service's container.
func (s *stack) container(t testing.TB, service string) string {
	t.Helper()
	out, err := s.run(time.Minute, "docker-compose", "ps", "-q", service)
	if err != nil || strings.TrimSpace(out) == "" {
		t.Fatalf("docker-compose ps -q %s: %v: %q", service, err, out)
	}
	return strings.TrimSpace(out)
}

func (s *stack) mustDocker(t testing.TB, args ...string) string {
	t.Helper()
	out, err := s.run(time.Minute, "docker", args...)
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// dnsbench is one line of the toolbox's dnsbench applet.
type dnsbench struct {
	queries, errors, lost int
	qps, p50, p99         float64
}

// parseDNSBench reads "queries=N errors=N lost=N seconds=S qps=Q
// p50_ms=X p99_ms=Y".
func parseDNSBench(out string) (dnsbench, error) {
	var r dnsbench
	fields := map[string]string{}
	for _, f := range strings.Fields(out) {
		k, v, _ := strings.Cut(f, "=")
		fields[k] = v
	}
	var errs [6]error
	r.queries, errs[0] = strconv.Atoi(fields["queries"])
	r.errors, errs[1] = strconv.Atoi(fields["errors"])
	r.lost, errs[2] = strconv.Atoi(fields["lost"])
	r.qps, errs[3] = strconv.ParseFloat(fields["qps"], 64)
	r.p50, errs[4] = strconv.ParseFloat(fields["p50_ms"], 64)
	r.p99, errs[5] = strconv.ParseFloat(fields["p99_ms"], 64)
	for _, err := range errs {
		if err != nil {
			return r, fmt.Errorf("dnsbench output %q: %w", out, err)
		}
	}
	return r, nil
}

// TestDNSObjects: the cluster DNS test's manifest has every placeholder
// filled: two Services, three pods of the headless one, the dnsPolicy None
// pod.
func TestDNSObjects(t *testing.T) {
	m := dnsObjects("localhost:5000/x:1")
	for _, placeholder := range []string{"NAME", "READY_PORT", "IMAGE"} {
		if strings.Contains(m, placeholder) {
			t.Errorf("got %s left in the manifest:\n%s", placeholder, m)
		}
	}
	if got := strings.Count(m, "\nkind: "); got != 6 {
		t.Errorf("got %d objects, want 6:\n%s", got, m)
	}
	for _, want := range []string{"name: peer-2", "port: 9}", "subdomain: peers"} {
		if !strings.Contains(m, want) {
			t.Errorf("got no %q in the manifest:\n%s", want, m)
		}
	}
}
