package compose

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"skiff.dev/e2e/framework"
)

// The chart's release on the stack: its name, its namespace (in the
// hosting cluster, the compose stack) and the prefix of its objects.
const (
	release   = "hosted"
	hostingNS = "hosting"
	fullname  = "hosted-skiff"
)

// chartImages are the images charts/skiff runs: its values' keys and the
// stack images they are.
var chartImages = map[string]string{
	"etcd": "etcd", "apiserver": "apiserver", "scheduler": "scheduler",
	"controllerManager": "controller-manager", "cloudController": "cloud-controller", "pki": "pki",
}

// TestChartOnStack installs charts/skiff onto the compose stack ("Skiff on
// Skiff") as a user would: the images pushed to the stack's registry, the
// apiservers behind a LoadBalancer address of the stack's network. The
// hosted control plane comes up (3 etcd members on the stack's local CSI
// volumes, 3 apiservers, 2 of each other component); its admin
// kubeconfig from the Secret works with kubectl; a skiff-node container
// started outside it joins with the node bootstrap Secret and runs a pod;
// helm test passes; helm upgrade to another image tag keeps the API
// answering a client polling every 100 ms; etcd members, apiservers and
// leaders fail under a writer without losing a write (chartFailures);
// helm uninstall (and deleting the etcd claims, as docs/helm.md says)
// leaves nothing of the release.
func TestChartOnStack(t *testing.T) {
	s := up(t)
	s.pushTestImage(t)
	s.pushChartImages(t, "dev", "upgrade")
	dir := t.TempDir()
	lb := s.net + ".250"
	values := filepath.Join(dir, "values.yaml")
	if err := os.WriteFile(values, []byte(chartValues(t, lb)), 0o644); err != nil {
		t.Fatal(err)
	}
	chart := filepath.Join(s.root, "charts", "skiff")

	start := time.Now()
	if out, err := s.helm(t, 12*time.Minute, "install", release, chart, "--namespace", hostingNS, "--create-namespace",
		"-f", values, "--wait", "--timeout", "10m"); err != nil {
		t.Fatalf("helm install: %v\n%s\n%s", err, out, s.describeRelease(t))
	}
	t.Logf("helm install: %v", time.Since(start).Round(time.Second))
	s.checkReplicas(t, "dev")

	admin := s.secretFile(t, dir, fullname+"-admin-kubeconfig", "kubeconfig")
	hosted := func(t testing.TB, args ...string) string {
		t.Helper()
		out, err := framework.Kubectl(t, admin, "", args...)
		if err != nil {
			t.Fatalf("kubectl (hosted) %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	if got := strings.TrimSpace(hosted(t, "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}")); got != "https://"+lb+":6443" {
		t.Errorf("the admin kubeconfig names %q, want the LoadBalancer's https://%s:6443", got, lb)
	}
	if got := hosted(t, "get", "--raw", "/readyz"); got != "ok" {
		t.Errorf("hosted /readyz: %q", got)
	}
	if got := hosted(t, "get", "namespace", "kube-system", "-o", "name"); strings.TrimSpace(got) != "namespace/kube-system" {
		t.Errorf("hosted kube-system: %q", got)
	}
	// The hosted kubernetes Service leads to the LoadBalancer, which the
	// joining node's pods reach (apiserver.advertiseAddress).
	framework.Eventually(t, time.Minute, "the hosted kubernetes endpoints", func() error {
		out, err := framework.Kubectl(t, admin, "", "get", "endpoints", "kubernetes", "-o", "jsonpath={.subsets[*].addresses[*].ip}")
		if err != nil || strings.TrimSpace(out) != lb {
			return fmt.Errorf("%q, %v; want %s", out, err, lb)
		}
		return nil
	})

	s.joinNode(t, dir, "joined-node")
	framework.Eventually(t, 3*time.Minute, "joined-node Ready in the hosted cluster", func() error {
		out, err := framework.Kubectl(t, admin, "", "get", "node", "joined-node", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status} {.spec.podCIDR}`)
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		if f := strings.Fields(out); len(f) != 2 || f[0] != "True" || !strings.HasPrefix(f[1], "10.245.") {
			return fmt.Errorf("Ready and pod CIDR: %q", out)
		}
		return nil
	})
	hosted(t, "run", "hello", "--image="+testImage, "--port=8080")
	var podIP string
	framework.Eventually(t, 3*time.Minute, "the hosted pod running on joined-node", func() error {
		out, err := framework.Kubectl(t, admin, "", "get", "pod", "hello", "-o", "jsonpath={.status.phase} {.spec.nodeName} {.status.podIP}")
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		f := strings.Fields(out)
		if len(f) != 3 || f[0] != "Running" || f[1] != "joined-node" || !strings.HasPrefix(f[2], "10.245.") {
			return fmt.Errorf("phase, node, IP: %q", out)
		}
		podIP = f[2]
		return nil
	})
	// exec goes from a hosted apiserver, a pod of the stack, to the
	// joined node's kubelet.
	if got := hosted(t, "exec", "hello", "--", "get", "http://"+podIP+":8080/hostname"); strings.TrimSpace(got) != "hello" {
		t.Errorf("the pod answers %q, want hello", got)
	}
	podUID := hosted(t, "get", "pod", "hello", "-o", "jsonpath={.metadata.uid}")

	if out, err := s.helm(t, 6*time.Minute, "test", release, "--namespace", hostingNS, "--timeout", "5m"); err != nil {
		t.Fatalf("helm test: %v\n%s", err, out)
	} else if !strings.Contains(out, "Phase:          Succeeded") {
		t.Errorf("helm test:\n%s", out)
	}

	// The upgrade, under a client reading through the LoadBalancer every
	// 100 ms on a new connection each time.
	p := startPoller(t, admin)
	var tags []string
	for key := range chartImages {
		tags = append(tags, key+".image.tag=upgrade")
	}
	start = time.Now()
	if out, err := s.helm(t, 12*time.Minute, "upgrade", release, chart, "--namespace", hostingNS, "--reuse-values",
		"--set", strings.Join(tags, ","), "--wait", "--timeout", "10m"); err != nil {
		t.Fatalf("helm upgrade: %v\n%s\n%s", err, out, s.describeRelease(t))
	}
	took := time.Since(start).Round(time.Second)
	polls, failed, longest, errs := p.stop()
	t.Logf("helm upgrade: %v; %d reads every 100 ms, %d failed, longest failing stretch %v %v", took, polls, failed, longest, errs)
	if polls < 50 {
		t.Errorf("only %d reads during the upgrade", polls)
	}
	if failed > 5 {
		t.Errorf("%d of %d reads failed during the upgrade (longest stretch %v): %v", failed, polls, longest, errs)
	}
	s.checkReplicas(t, "upgrade")
	// What etcd held before is there after the members were replaced.
	if got := hosted(t, "get", "pod", "hello", "-o", "jsonpath={.metadata.uid}"); got != podUID {
		t.Errorf("the hosted pod's uid %q after the upgrade, was %q", got, podUID)
	}
	framework.Eventually(t, time.Minute, "joined-node Ready after the upgrade", func() error {
		out, err := framework.Kubectl(t, admin, "", "get", "node", "joined-node", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)
		if err != nil || out != "True" {
			return fmt.Errorf("%q, %v", out, err)
		}
		return nil
	})

	t.Run("failures", func(t *testing.T) { s.chartFailures(t, admin) })

	if out, err := s.helm(t, 6*time.Minute, "uninstall", release, "--namespace", hostingNS, "--wait", "--timeout", "5m"); err != nil {
		t.Fatalf("helm uninstall: %v\n%s", err, out)
	}
	sel := "app.kubernetes.io/instance=" + release
	s.mustKubectl(t, "", "delete", "pvc", "-n", hostingNS, "-l", sel+",app.kubernetes.io/component=etcd", "--wait=false")
	framework.Eventually(t, 3*time.Minute, "nothing of the release left", func() error {
		out, err := s.kubectl(t, "get", "-n", hostingNS, "-l", sel, "-o", "name",
			"all,secrets,configmaps,serviceaccounts,roles,rolebindings,jobs,poddisruptionbudgets,persistentvolumeclaims,endpoints,endpointslices")
		if err != nil || strings.TrimSpace(out) != "" {
			return fmt.Errorf("left: %q, %v", out, err)
		}
		out, err = s.kubectl(t, "get", "pv", "-o", "jsonpath={range .items[*]}{.spec.claimRef.namespace}{\"\\n\"}{end}")
		if err != nil || strings.Contains(out, hostingNS) {
			return fmt.Errorf("volumes of %s's claims left: %q, %v", hostingNS, out, err)
		}
		return nil
	})
}

// chartValues are the release's values: the images from the stack's
// registry (as pods name it), the apiservers at lb, the hosted pods in a
// range of their own.
func chartValues(t *testing.T, lb string) string {
	values := map[string]map[string]any{}
	for key, image := range chartImages {
		values[key] = map[string]any{"image": map[string]string{"repository": "localhost:5000/skiff/" + image, "tag": "dev"}}
	}
	values["apiserver"]["service"] = map[string]any{"type": "LoadBalancer", "port": 6443, "loadBalancerIP": lb}
	values["apiserver"]["externalURL"] = "https://" + lb + ":6443"
	values["apiserver"]["advertiseAddress"] = lb
	values["controllerManager"]["clusterCIDR"] = "10.245.0.0/16"
	out, err := yaml.Marshal(values)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// pushChartImages pushes the chart's images (make stack-images loaded
// them as skiff/NAME:dev) to the stack's registry under each tag.
func (s *stack) pushChartImages(t *testing.T, tags ...string) {
	t.Helper()
	registry := s.port(t, "registry", "5000")
	for _, image := range chartImages {
		for _, tag := range tags {
			pushed := registry + "/skiff/" + image + ":" + tag
			for _, args := range [][]string{{"docker", "tag", "skiff/" + image + ":dev", pushed}, {"docker", "push", "-q", pushed}} {
				if out, err := s.run(5*time.Minute, args[0], args[1:]...); err != nil {
					t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}
			t.Cleanup(func() { _, _ = s.run(time.Minute, "docker", "rmi", pushed) })
		}
	}
}

// helm runs bin/helm against the stack.
func (s *stack) helm(t testing.TB, timeout time.Duration, args ...string) (string, error) {
	t.Helper()
	return framework.Helm(t, s.kubeconfig, timeout, args...)
}

// describeRelease is what explains a failed install or upgrade: the
// release's pods and the logs of those not ready.
func (s *stack) describeRelease(t testing.TB) string {
	out, _ := s.kubectl(t, "get", "pods,jobs,pvc", "-n", hostingNS, "-o", "wide")
	notReady, _ := s.kubectl(t, "get", "pods", "-n", hostingNS, "-o", `jsonpath={range .items[?(@.status.containerStatuses[0].ready==false)]}{.metadata.name}{"\n"}{end}`)
	for _, pod := range strings.Fields(notReady) {
		logs, _ := s.kubectl(t, "logs", "-n", hostingNS, pod, "--tail", "20")
		out += fmt.Sprintf("--- %s ---\n%s\n", pod, logs)
	}
	return out
}

// checkReplicas: the release runs 3 etcd members and 3 apiservers, 2 of
// each other component, every one ready and on the images of tag.
func (s *stack) checkReplicas(t *testing.T, tag string) {
	t.Helper()
	want := map[string]int{"etcd": 3, "apiserver": 3, "scheduler": 2, "controller-manager": 2, "cloud-controller": 2}
	framework.Eventually(t, 2*time.Minute, fmt.Sprintf("the control plane's pods ready on :%s", tag), func() error {
		out, err := s.kubectl(t, "get", "pods", "-n", hostingNS, "-l", "app.kubernetes.io/instance="+release, "-o",
			`jsonpath={range .items[*]}{.metadata.labels.app\.kubernetes\.io/component} {.status.containerStatuses[0].ready} {.spec.containers[0].image} {.metadata.deletionTimestamp}{"\n"}{end}`)
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		got := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 || want[f[0]] == 0 {
				continue // the hooks' Jobs, the test Pod
			}
			if len(f) != 3 || f[1] != "true" || !strings.HasSuffix(f[2], ":"+tag) {
				return fmt.Errorf("pod not ready on :%s: %q", tag, line)
			}
			got[f[0]]++
		}
		for c, n := range want {
			if got[c] != n {
				return fmt.Errorf("%d ready %s pods, want %d (%v)", got[c], c, n, got)
			}
		}
		return nil
	})
}

// secretFile writes one key of a release Secret into dir.
func (s *stack) secretFile(t *testing.T, dir, secret, key string) string {
	t.Helper()
	out := s.mustKubectl(t, "", "get", "secret", "-n", hostingNS, secret, "-o", "jsonpath={.data."+strings.ReplaceAll(key, ".", `\.`)+"}")
	data, err := base64.StdEncoding.DecodeString(out)
	if err != nil || len(data) == 0 {
		t.Fatalf("secret %s key %s: %q, %v", secret, key, out, err)
	}
	path := filepath.Join(dir, secret+"-"+key)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// joinNode starts a skiff-node container on the stack's network, outside
// the hosting cluster, as docs/helm.md says nodes join: the kubelet
// bootstraps from the node bootstrap Secret's kubeconfig and the hosted
// CA, the proxy uses the proxy's kubeconfig. Its container settings are
// docker-compose.yaml's x-node ones. It is removed with its volume at the
// end.
func (s *stack) joinNode(t *testing.T, dir, name string) {
	t.Helper()
	etc := filepath.Join(dir, "node")
	if err := os.Mkdir(etc, 0o700); err != nil {
		t.Fatal(err)
	}
	for file, from := range map[string][2]string{
		"node-bootstrap.kubeconfig": {fullname + "-node-bootstrap", "kubeconfig"},
		"proxy.kubeconfig":          {fullname + "-proxy-kubeconfig", "kubeconfig"},
		"ca.crt":                    {fullname + "-ca", "ca.crt"},
	} {
		if err := os.Rename(s.secretFile(t, dir, from[0], from[1]), filepath.Join(etc, file)); err != nil {
			t.Fatal(err)
		}
	}
	container := s.project + "-" + name
	args := []string{"run", "-d", "--name", container, "--hostname", name, "--network", s.project + "_skiff",
		"--init", "--cap-add", "ALL", "--cap-drop", "SYS_RESOURCE",
		"--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
		"--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "net.ipv4.conf.all.rp_filter=0",
		"-v", "/sys/fs/cgroup:/sys/fs/cgroup", "--mount", "type=volume,dst=/var/lib/skiff-node", "-v", etc + ":/etc/skiff:ro",
		"skiff/node:dev",
		"--kubeconfig=/var/lib/skiff-node/kubelet.kubeconfig",
		"--kubelet-arg=--bootstrap-kubeconfig=/etc/skiff/node-bootstrap.kubeconfig",
		"--kubelet-arg=--client-ca-file=/etc/skiff/ca.crt",
		"--kubelet-arg=--cloud-provider=external",
		"--proxy-kubeconfig=/etc/skiff/proxy.kubeconfig",
		"--cluster-cidr=10.245.0.0/16",
		"--registry-mirror=localhost:5000=http://registry:5000",
	}
	if out, err := s.run(2*time.Minute, "docker", args...); err != nil {
		t.Fatalf("docker run %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() {
		if t.Failed() {
			logs, _ := s.run(time.Minute, "docker", "logs", "--tail", "60", container)
			t.Logf("%s logs:\n%s", name, logs)
		}
		if out, err := s.run(2*time.Minute, "docker", "rm", "-f", "-v", container); err != nil {
			t.Errorf("docker rm %s: %v\n%s", container, err, out)
		}
	})
}

// poller reads the hosted cluster's default namespace every 100 ms, each
// time on a new connection, and counts the reads that failed. Its counts
// are its goroutine's alone until done is closed.
type poller struct {
	stopc, done chan struct{}
	polls       int
	failed      int
	longest     time.Duration
	errs        []string
}

func startPoller(t *testing.T, kubeconfig string) *poller {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	tlsConfig, err := rest.TLSConfigFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsConfig, DisableKeepAlives: true}}
	url := cfg.Host + "/api/v1/namespaces/default"
	p := &poller{stopc: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		var failingSince time.Time
		for {
			select {
			case <-p.stopc:
				return
			case <-tick.C:
			}
			err := get(c, url)
			p.polls++
			switch {
			case err == nil:
				failingSince = time.Time{}
			case failingSince.IsZero():
				failingSince = time.Now()
				fallthrough
			default:
				p.failed++
				p.longest = max(p.longest, time.Since(failingSince))
				if len(p.errs) < 3 {
					p.errs = append(p.errs, err.Error())
				}
			}
		}
	}()
	t.Cleanup(func() { p.stop() })
	return p
}

func get(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}

// stop ends the polling and reports it: the reads, those that failed,
// the longest stretch of failures and up to three of their errors.
func (p *poller) stop() (polls, failed int, longest time.Duration, errs []string) {
	select {
	case <-p.stopc:
	default:
		close(p.stopc)
	}
	<-p.done
	return p.polls, p.failed, p.longest, p.errs
}

// chartElections are the hosted control plane's elections and the
// chart's component each is of.
var chartElections = map[string]string{
	"kube-scheduler":           "scheduler",
	"kube-controller-manager":  "controller-manager",
	"cloud-controller-manager": "cloud-controller",
}

// chartFailures runs faults of the HA profile's TestHAStack on the
// installed chart, under a writer through the LoadBalancer: SIGKILL the
// etcd leader's process (the kubelet restarts it), SIGKILL each
// apiserver's in turn, delete the leading scheduler's and
// controller-manager's pods. After each: every acknowledged write stored
// once, one leader per election, every pod ready, the hosted pod running.
func (s *stack) chartFailures(t *testing.T, admin string) {
	cs := clientsetOf(t, admin, nil)
	w := startWriter(t, cs, "chart-writer")
	scenario := func(name string, do func(t *testing.T)) {
		w.scenario(t, name, do, func(t *testing.T) {
			s.checkChartLeaders(t, cs)
			s.checkReplicas(t, "upgrade")
			if out, err := framework.Kubectl(t, admin, "", "get", "pod", "hello", "-o", "jsonpath={.status.phase}"); err != nil || out != "Running" {
				t.Errorf("the hosted pod: %q, %v", out, err)
			}
		})
	}
	etcdPods := []string{fullname + "-etcd-0", fullname + "-etcd-1", fullname + "-etcd-2"}
	scenario("SIGKILL the etcd leader", func(t *testing.T) {
		leader := etcdLeader(t, etcdPods, func(pod string) (string, error) {
			return s.kubectl(t, "logs", "-n", hostingNS, pod)
		})
		t.Logf("killing %s, the etcd leader", leader)
		s.killPod(t, leader)
		w.waitAcks(t, 25)
	})
	scenario("SIGKILL each apiserver", func(t *testing.T) {
		for _, pod := range s.podsOf(t, "apiserver") {
			s.killPod(t, pod)
			w.waitAcks(t, 25)
			s.checkReplicas(t, "upgrade")
		}
	})
	scenario("delete the leading scheduler and controller-manager", func(t *testing.T) {
		for _, election := range []string{"kube-scheduler", "kube-controller-manager"} {
			holder, err := leaseHolder(cs, election)
			if err != nil || holder == "" {
				t.Fatalf("%s: held by %q, %v", election, holder, err)
			}
			s.mustKubectl(t, "", "delete", "pod", "-n", hostingNS, holder, "--wait=false")
			framework.Eventually(t, time.Minute, "another "+election+" leader", func() error {
				if h, err := leaseHolder(cs, election); err != nil || h == holder || h == "" {
					return fmt.Errorf("held by %q, %v", h, err)
				}
				return nil
			})
		}
	})
	w.stop()
	w.verify(t)
}

// podsOf are the names of a component's pods.
func (s *stack) podsOf(t testing.TB, component string) []string {
	t.Helper()
	return strings.Fields(s.mustKubectl(t, "", "get", "pods", "-n", hostingNS,
		"-l", "app.kubernetes.io/instance="+release+",app.kubernetes.io/component="+component, "-o", "jsonpath={.items[*].metadata.name}"))
}

// killPod SIGKILLs a pod's container in its node's containerd; the
// kubelet starts it again (restartPolicy Always). It waits for the
// restart.
func (s *stack) killPod(t *testing.T, pod string) {
	t.Helper()
	status := func() (node, id string, restarts int) {
		out := s.mustKubectl(t, "", "get", "pod", "-n", hostingNS, pod, "-o",
			"jsonpath={.spec.nodeName} {.status.containerStatuses[0].containerID} {.status.containerStatuses[0].restartCount}")
		f := strings.Fields(out)
		if len(f) != 3 {
			t.Fatalf("pod %s: node, container, restarts: %q", pod, out)
		}
		n, _ := strconv.Atoi(f[2])
		return f[0], strings.TrimPrefix(f[1], "containerd://"), n
	}
	node, id, restarts := status()
	// The node's name is its compose service's; CRI's containers are in
	// containerd's k8s.io namespace.
	if out, err := s.run(time.Minute, "docker-compose", "exec", "-T", node, "ctr", "-n", "k8s.io", "task", "kill", "-s", "SIGKILL", id); err != nil {
		t.Fatalf("kill %s (%s on %s): %v\n%s", pod, id, node, err, out)
	}
	framework.Eventually(t, 2*time.Minute, pod+" restarted", func() error {
		if _, _, n := status(); n <= restarts {
			return fmt.Errorf("%d restarts", n)
		}
		return nil
	})
}

// checkChartLeaders: each election's Lease is held by a ready pod of its
// component, the only one of them whose log says it leads.
func (s *stack) checkChartLeaders(t testing.TB, cs *kubernetes.Clientset) {
	t.Helper()
	for election, component := range chartElections {
		framework.Eventually(t, 2*time.Minute, "one leader of "+election, func() error {
			holder, err := leaseHolder(cs, election)
			if err != nil {
				return err
			}
			out, err := s.kubectl(t, "get", "pods", "-n", hostingNS, "-l", "app.kubernetes.io/instance="+release+",app.kubernetes.io/component="+component,
				"-o", `jsonpath={range .items[*]}{.metadata.name} {.status.containerStatuses[0].ready}{"\n"}{end}`)
			if err != nil {
				return fmt.Errorf("%v: %s", err, out)
			}
			var think []string
			holderReady := false
			for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
				f := strings.Fields(line)
				if len(f) != 2 {
					continue
				}
				if f[0] == holder && f[1] == "true" {
					holderReady = true
				}
				logs, err := s.kubectl(t, "logs", "-n", hostingNS, f[0])
				if err != nil {
					return fmt.Errorf("logs of %s: %v", f[0], err)
				}
				if leadsByLog(logs) {
					think = append(think, f[0])
				}
			}
			if !holderReady {
				return fmt.Errorf("the Lease is held by %q, no ready pod of %s: %q", holder, component, out)
			}
			if len(think) != 1 || think[0] != holder {
				return fmt.Errorf("the Lease is held by %q; leading by their own account: %v", holder, think)
			}
			return nil
		})
	}
}
