// Package compose tests the docker-compose dev stack as a user meets it:
// `make up` from the checkout, then kubectl against the stack. The stack
// runs under a project of its own, on its own /24 and free host ports, so
// it doesn't collide with a stack the developer has up; every container,
// network and volume it made is removed at the end.
package compose

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"skiff.dev/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }

// stack is one compose project brought up by `make up`.
type stack struct {
	t          testing.TB
	root       string // the repository
	env        []string
	project    string
	net        string // first three octets of the stack's /24
	kubeconfig string
	bin        string    // the repository's bin/, for kubectl-skiff
	deadline   time.Time // commands other than the cleanup end by then
}

// downBudget is the time kept for removing the stack.
const downBudget = 4 * time.Minute

// freeNet picks the first three octets of a 10.89.x.0/24 that no route of
// this machine (a stack already up, a Docker network) covers.
func freeNet(t testing.TB) string {
	t.Helper()
	routes, err := os.ReadFile("/proc/net/route")
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		x := 1 + rand.IntN(254)
		// /proc/net/route has destinations in little-endian hex.
		if !strings.Contains(string(routes), fmt.Sprintf("\t%02X%02X%02X%02X\t", 0, x, 89, 10)) {
			return fmt.Sprintf("10.89.%d", x)
		}
	}
	t.Fatal("no free 10.89.x.0/24")
	return ""
}

func needDocker(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the stack's images and runs docker-compose")
	}
	for _, tool := range []string{"docker", "docker-compose", "kubectl", "make"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not on this machine", tool)
		}
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		t.Skipf("no Docker engine: %v: %s", err, out)
	}
}

// up runs `make up` for a new project and registers its removal.
func up(t testing.TB) *stack { return upWith(t, nil) }

// upWith is up with further environment and `make up` arguments (HA=1).
func upWith(t testing.TB, env []string, makeArgs ...string) *stack {
	needDocker(t)
	dir := t.TempDir()
	s := &stack{
		t:          t,
		root:       framework.RepoRoot(),
		project:    fmt.Sprintf("skiffe2e%06d", rand.IntN(1_000_000)),
		net:        freeNet(t),
		kubeconfig: filepath.Join(dir, ".skiff", "kubeconfig"), // where a checkout has it (checkoutView)
	}
	// Commands end in time for the cleanup to run before the test binary's
	// deadline; a timed-out test would leave the stack behind.
	s.deadline = time.Now().Add(time.Hour)
	if dt, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if d, ok := dt.Deadline(); ok {
			s.deadline = d.Add(-downBudget)
		}
	}
	s.bin = filepath.Join(s.root, "bin")
	cloudConfig := filepath.Join(dir, "cloud-config.yaml")
	if err := os.WriteFile(cloudConfig, []byte(fmt.Sprintf("zone: e2e\nloadBalancerPool:\n  - %s.200-%s.250\n", s.net, s.net)), 0o644); err != nil {
		t.Fatal(err)
	}
	s.env = append(os.Environ(),
		"COMPOSE_PROJECT_NAME="+s.project,
		"SKIFF_NET="+s.net,
		"SKIFF_CLOUD_CONFIG="+cloudConfig,
		"SKIFF_KUBECONFIG="+s.kubeconfig,
		// Empty: Docker picks free host ports.
		"SKIFF_APISERVER_PORT=", "SKIFF_REGISTRY_PORT=", "SKIFF_TRACES_PORT=",
	)
	s.env = append(s.env, env...)
	t.Cleanup(s.down)
	if out, err := s.run(30*time.Minute, "make", append([]string{"up"}, makeArgs...)...); err != nil {
		logs, _ := s.run(time.Minute, "docker-compose", "logs", "--no-color", "--tail", "40")
		t.Fatalf("make up: %v\n%s\n--- logs ---\n%s", err, tail(out, 60), logs)
	}
	return s
}

// down removes the project's containers, networks and volumes, and checks
// that none is left.
func (s *stack) down() {
	t := s.t
	if t.Failed() {
		logs, _ := s.run(time.Minute, "docker-compose", "logs", "--no-color", "--tail", "60")
		t.Logf("stack logs:\n%s", logs)
	}
	s.deadline = time.Time{} // the cleanup has its own budget
	label := "label=com.docker.compose.project=" + s.project
	down := []string{"down", "--volumes", "--remove-orphans", "--timeout", "20"}
	out, err := s.run(downBudget/2, "docker-compose", down...)
	dockerFault := false
	if err != nil && strings.Contains(out, "has active endpoints") {
		// Docker now and then keeps counting an endpoint of a container it
		// has removed and refuses to remove the network; compose then
		// stops before the volumes. An endpoint still listed goes by
		// force, and down runs again.
		t.Logf("docker-compose down: the network still has endpoints:\n%s", tail(out, 3))
		s.disconnectStale(label)
		if out, err = s.run(downBudget/2-time.Minute, "docker-compose", down...); err != nil && strings.Contains(out, "has active endpoints") {
			// No endpoint listed, yet counted: the daemon's endpoint count
			// is wrong (moby/moby#42119) and only a restart of dockerd
			// clears it. Not the stack's doing: its volumes go by hand,
			// the network is reported and left.
			t.Logf("Docker keeps the network for endpoints it no longer lists (a dockerd bookkeeping fault); left:\n%s", tail(out, 3))
			dockerFault, err = true, s.removeVolumes(label)
		}
	}
	if err != nil {
		t.Errorf("docker-compose down: %v\n%s", err, out)
	}
	for _, what := range [][]string{{"ps", "-a", "-q"}, {"network", "ls", "-q"}, {"volume", "ls", "-q"}} {
		if dockerFault && what[0] == "network" {
			continue
		}
		out, err := s.run(time.Minute, "docker", append(what, "--filter", label)...)
		if err != nil || strings.TrimSpace(out) != "" {
			t.Errorf("docker %s after down: %q, %v", strings.Join(what, " "), out, err)
		}
	}
}

// removeVolumes removes the project's volumes.
func (s *stack) removeVolumes(label string) error {
	vols, err := s.run(time.Minute, "docker", "volume", "ls", "-q", "--filter", label)
	if err != nil || strings.TrimSpace(vols) == "" {
		return err
	}
	if out, err := s.run(time.Minute, "docker", append([]string{"volume", "rm"}, strings.Fields(vols)...)...); err != nil {
		return fmt.Errorf("docker volume rm: %v\n%s", err, out)
	}
	return nil
}

// disconnectStale forces every endpoint off the project's networks.
func (s *stack) disconnectStale(label string) {
	nets, err := s.run(time.Minute, "docker", "network", "ls", "-q", "--filter", label)
	if err != nil {
		s.t.Logf("docker network ls: %v\n%s", err, nets)
		return
	}
	for _, n := range strings.Fields(nets) {
		eps, err := s.run(time.Minute, "docker", "network", "inspect", "-f", "{{range .Containers}}{{.Name}} {{end}}", n)
		if err != nil {
			s.t.Logf("docker network inspect %s: %v\n%s", n, err, eps)
			continue
		}
		for _, ep := range strings.Fields(eps) {
			if out, err := s.run(time.Minute, "docker", "network", "disconnect", "--force", n, ep); err != nil {
				s.t.Logf("docker network disconnect --force %s %s: %v\n%s", n, ep, err, out)
			}
		}
	}
}

// run runs a command in the repository with the project's environment,
// for at most timeout and not past the stack's deadline; a command that
// runs out of time is killed with everything it started (make runs
// docker-compose).
func (s *stack) run(timeout time.Duration, name string, args ...string) (string, error) {
	end := time.Now().Add(timeout)
	if !s.deadline.IsZero() && end.After(s.deadline) {
		end = s.deadline
	}
	ctx, cancel := context.WithDeadline(context.Background(), end)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = s.root, s.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (s *stack) kubectl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	return framework.Kubectl(t, s.kubeconfig, "", args...)
}

func (s *stack) mustKubectl(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	out, err := framework.Kubectl(t, s.kubeconfig, stdin, args...)
	if err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// port is the host address of a service's published port.
func (s *stack) port(t testing.TB, service, port string) string {
	t.Helper()
	out, err := s.run(time.Minute, "docker-compose", "port", service, port)
	if err != nil {
		t.Fatalf("docker-compose port %s %s: %v\n%s", service, port, err, out)
	}
	return strings.TrimSpace(out)
}

func tail(s string, lines int) string {
	l := strings.Split(s, "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

func TestStack(t *testing.T) {
	s := up(t)

	s.pushTestImage(t)

	// The kubelets register with --cloud-provider=external; the
	// cloud-controller's local provider initializes their Nodes.
	framework.Eventually(t, 2*time.Minute, "nodes initialized by the cloud-controller", func() error {
		out, err := s.kubectl(t, "get", "nodes", "-o", `jsonpath={range .items[*]}{.metadata.labels.topology\.kubernetes\.io/zone} {.spec.providerID} {.spec.taints}{"\n"}{end}`)
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		for _, l := range lines {
			if f := strings.Fields(l); len(f) != 2 || f[0] != "e2e" || !strings.HasPrefix(f[1], "local://") {
				return fmt.Errorf("nodes: %q, want zone e2e, a local:// providerID and no taint", out)
			}
		}
		if len(lines) != 2 {
			return fmt.Errorf("nodes: %q", out)
		}
		return nil
	})
	s.mustKubectl(t, manifest, "apply", "-f", "-")
	pods := s.runningPods(t, 2)

	t.Run("trace", func(t *testing.T) { s.checkTrace(t) })
	t.Run("ClusterIP from a pod", func(t *testing.T) {
		ip := strings.TrimSpace(s.mustKubectl(t, "", "get", "service", "hello", "-o", "jsonpath={.spec.clusterIP}"))
		s.answeredBy(t, pods, func() (string, error) {
			return s.kubectl(t, "exec", pods[0], "--", "get", "http://"+ip+"/hostname")
		})
	})
	t.Run("cluster DNS", func(t *testing.T) { s.checkDNS(t, pods[0], testImage) })
	t.Run("LoadBalancer from the host", func(t *testing.T) {
		var lb string
		framework.Eventually(t, 2*time.Minute, "a LoadBalancer address", func() error {
			out, err := s.kubectl(t, "get", "service", "hello", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}")
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			lb = strings.TrimSpace(out)
			if !strings.HasPrefix(lb, s.net+".") {
				return fmt.Errorf("ingress %q, want one in %s.0/24", lb, s.net)
			}
			return nil
		})
		// A new connection each time, so the proxy picks a backend each time.
		c := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		s.answeredBy(t, pods, func() (string, error) {
			resp, err := c.Get("http://" + lb + "/hostname")
			if err != nil {
				return "", err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			return string(b), err
		})
	})
	t.Run("local CSI volumes", func(t *testing.T) { s.checkStorage(t) })
	t.Run("node resolver", func(t *testing.T) { s.checkNodeResolver(t) })
	t.Run("scheduler failover", func(t *testing.T) { s.checkFailover(t) })
	t.Run("README walkthrough", func(t *testing.T) { s.checkWalkthrough(t) })
	t.Run("down and up keep the cluster", func(t *testing.T) { s.checkRestart(t) })
	// Last: it leaves the cluster DNS broken.
	t.Run("an add-on that does not start fails make up", func(t *testing.T) { s.checkAddonFailure(t) })
}

// testImage is how pods name the test image pushTestImage pushed.
const testImage = "localhost:5000/e2e/hello:1"

// pushTestImage loads the test image (make images) and pushes it into the
// stack's registry with docker, as the README says; pods name it
// testImage, which the nodes map to the registry.
func (s *stack) pushTestImage(t testing.TB) {
	pushed := s.port(t, "registry", "5000") + strings.TrimPrefix(testImage, "localhost:5000")
	for _, args := range [][]string{
		{"docker", "load", "-q", "-i", filepath.Join(s.bin, "images", "testserver.tar")},
		{"docker", "tag", "registry.skiff.local/testserver:1.0", pushed},
		{"docker", "push", pushed},
	} {
		if out, err := s.run(5*time.Minute, args[0], args[1:]...); err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	t.Cleanup(func() { _, _ = s.run(time.Minute, "docker", "rmi", pushed) })
}

// checkRestart: `make down` then the stack up again keeps the objects
// (etcd's volume), the credentials (the apiserver's) and the pushed image
// (the registry's); the pods run again.
func (s *stack) checkRestart(t *testing.T) {
	before := s.mustKubectl(t, "", "get", "deployment", "hello", "-o", "jsonpath={.metadata.uid}")
	if out, err := s.run(5*time.Minute, "make", "down"); err != nil {
		t.Fatalf("make down: %v\n%s", err, out)
	}
	if out, err := s.run(10*time.Minute, "deploy/compose/up.sh"); err != nil {
		t.Fatalf("up again: %v\n%s", err, tail(out, 60))
	}
	if after := s.mustKubectl(t, "", "get", "deployment", "hello", "-o", "jsonpath={.metadata.uid}"); after != before {
		t.Errorf("deployment uid %q after down/up, was %q", after, before)
	}
	s.runningPods(t, 4)
	resp, err := http.Get("http://" + s.port(t, "registry", "5000") + "/v2/e2e/hello/manifests/1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the pushed image after down/up: %s", resp.Status)
	}
}

// manifest is the walkthrough's Deployment (one pod per node) and its
// LoadBalancer Service.
const manifest = `apiVersion: apps/v1
kind: Deployment
metadata: {name: hello}
spec:
  replicas: 2
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      topologySpreadConstraints:
      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule, labelSelector: {matchLabels: {app: hello}}}
      containers:
      - name: hello
        image: localhost:5000/e2e/hello:1
        ports: [{containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: hello}
spec:
  type: LoadBalancer
  selector: {app: hello}
  ports: [{port: 80, targetPort: 8080}]
`

// runningPods waits until n pods of the Deployment run and returns their
// names.
func (s *stack) runningPods(t testing.TB, n int) []string {
	t.Helper()
	var names []string
	framework.Eventually(t, 3*time.Minute, fmt.Sprintf("%d running hello pods", n), func() error {
		out, err := s.kubectl(t, "get", "pods", "-l", "app=hello", "--field-selector", "status.phase=Running",
			"-o", "jsonpath={range .items[*]}{.metadata.name} {.spec.nodeName}{\"\\n\"}{end}")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		names = nil
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(line); len(f) == 2 {
				names = append(names, f[0])
			}
		}
		if len(names) != n {
			return fmt.Errorf("running: %q", out)
		}
		return nil
	})
	return names
}

// answeredBy asks until every pod has answered (the Service spreads
// requests over its endpoints; the pods answer with their names).
func (s *stack) answeredBy(t *testing.T, pods []string, ask func() (string, error)) {
	t.Helper()
	seen := map[string]bool{}
	framework.Eventually(t, 2*time.Minute, "answers from every pod", func() error {
		out, err := ask()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		name := strings.TrimSpace(out)
		if !slices.Contains(pods, name) {
			return fmt.Errorf("answer %q is from none of %v", name, pods)
		}
		seen[name] = true
		if len(seen) < len(pods) {
			return fmt.Errorf("answers from %v so far, want all of %v", seen, pods)
		}
		return nil
	})
}

// checkTrace: the Deployment's write is one trace through every
// component, in the collector and in `kubectl skiff trace`.
func (s *stack) checkTrace(t *testing.T) {
	traces := s.port(t, "collector", "16686")
	tp := s.mustKubectl(t, "", "get", "deployment", "hello", "-o", `jsonpath={.metadata.annotations.trace\.skiff\.dev/traceparent}`)
	parts := strings.Split(strings.TrimSpace(tp), "-")
	if len(parts) != 4 {
		t.Fatalf("traceparent annotation %q", tp)
	}
	traceID := parts[1]
	want := map[string][]string{
		"apiserver":          {"POST /apis/apps/v1/namespaces/default/deployments"},
		"controller-manager": {"reconcile deployment", "reconcile replicaset"},
		"scheduler":          {"schedule pod", "bind pod"},
		"kubelet":            {"runtime.v1.RuntimeService/RunPodSandbox", "runtime.v1.RuntimeService/StartContainer"},
	}
	framework.Eventually(t, 2*time.Minute, "the deployment's trace in the collector", func() error {
		got, err := spans("http://"+traces, traceID)
		if err != nil {
			return err
		}
		for svc, ops := range want {
			for _, op := range ops {
				if !got[svc][op] {
					return fmt.Errorf("trace %s: no %s span %q (have %v)", traceID, svc, op, got)
				}
			}
		}
		return nil
	})
	cmd := exec.Command("kubectl", "skiff", "trace", "deployment/hello", "--traces-url", "http://"+traces)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+s.kubeconfig, "PATH="+s.bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl skiff trace deployment/hello: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), traceID) {
		t.Errorf("kubectl skiff trace shows no trace %s:\n%s", traceID, out)
	}
	for svc := range want {
		if !rowOf(string(out), svc) {
			t.Errorf("kubectl skiff trace shows no %s span:\n%s", svc, out)
		}
	}
}

// rowOf reports whether a waterfall row starts with component.
func rowOf(waterfall, component string) bool {
	for _, line := range strings.Split(waterfall, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == component {
			return true
		}
	}
	return false
}

// spans fetches a trace from Jaeger's query API: service → operations.
func spans(base, traceID string) (map[string]map[string]bool, error) {
	resp, err := http.Get(base + "/api/traces/" + traceID)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("GET trace %s: %s: %s", traceID, resp.Status, b)
	}
	var body struct {
		Data []struct {
			Spans []struct {
				OperationName string `json:"operationName"`
				ProcessID     string `json:"processID"`
			} `json:"spans"`
			Processes map[string]struct {
				ServiceName string `json:"serviceName"`
			} `json:"processes"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	got := map[string]map[string]bool{}
	for _, tr := range body.Data {
		for _, sp := range tr.Spans {
			svc := tr.Processes[sp.ProcessID].ServiceName
			if got[svc] == nil {
				got[svc] = map[string]bool{}
			}
			got[svc][sp.OperationName] = true
		}
	}
	return got, nil
}

// checkFailover stops the leading scheduler's container: the other takes
// the lease, and new pods are still scheduled.
func (s *stack) checkFailover(t *testing.T) {
	holder := func() string {
		out, _ := s.kubectl(t, "get", "lease", "-n", "kube-system", "kube-scheduler", "-o", "jsonpath={.spec.holderIdentity}")
		name, _, _ := strings.Cut(strings.TrimSpace(out), "_")
		return name
	}
	var leader string
	framework.Eventually(t, time.Minute, "a scheduler leading", func() error {
		if leader = holder(); leader != "scheduler-1" && leader != "scheduler-2" {
			return fmt.Errorf("kube-scheduler lease held by %q", leader)
		}
		return nil
	})
	if out, err := s.run(2*time.Minute, "docker-compose", "stop", leader); err != nil {
		t.Fatalf("docker-compose stop %s: %v\n%s", leader, err, out)
	}
	// Back as the stand-by, so the walkthrough finds two schedulers.
	t.Cleanup(func() {
		if out, err := s.run(2*time.Minute, "docker-compose", "start", leader); err != nil {
			t.Errorf("docker-compose start %s: %v\n%s", leader, err, out)
		}
	})
	framework.Eventually(t, 2*time.Minute, "the other scheduler leading", func() error {
		if h := holder(); h == leader || h == "" {
			return fmt.Errorf("kube-scheduler lease held by %q", h)
		}
		return nil
	})
	t.Logf("%s stopped; %s leads:\n%s", leader, holder(), s.mustKubectl(t, "", "get", "lease", "-n", "kube-system"))
	s.mustKubectl(t, "", "scale", "deployment", "hello", "--replicas=4")
	s.runningPods(t, 4)
}
