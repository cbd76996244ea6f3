package cloudcontroller

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// route is a route as fakecloud stores it.
type route struct {
	Name, TargetNode, DestinationCIDR string
	Blackhole                         bool
}

func readRoutes(dir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "routes.json"))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var routes []route
	if err := json.Unmarshal(data, &routes); err != nil {
		return nil, err
	}
	var out []string
	for _, r := range routes {
		out = append(out, r.TargetNode+"="+r.DestinationCIDR)
	}
	sort.Strings(out)
	return out, nil
}

func waitRoutes(t *testing.T, dir string, want ...string) {
	t.Helper()
	sort.Strings(want)
	framework.Eventually(t, wait, fmt.Sprintf("the cloud's routes are %v", want), func() error {
		got, err := readRoutes(dir)
		if err != nil {
			return err
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("routes %v", got)
		}
		return nil
	})
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPluginProvider runs a provider plugin with instances and routes
// (fakecloud, whose cloud is a directory) and kills it.
func TestPluginProvider(t *testing.T) {
	e := setup(t)
	plugin := buildPlugin(t, "fakecloud")
	cloud := t.TempDir()
	// A stale route inside the cluster CIDR and a foreign one outside it.
	stale := `[{"Name":"x","TargetNode":"ghost","DestinationCIDR":"10.244.9.0/24"},` +
		`{"Name":"y","TargetNode":"ghost","DestinationCIDR":"192.168.7.0/24"}]`
	if err := os.WriteFile(filepath.Join(cloud, "routes.json"), []byte(stale), 0o644); err != nil {
		t.Fatal(err)
	}
	metrics, serve := framework.SecurePort(t)
	cc := framework.StartCloudController(t, e.srv, append(serve, "--cloud-provider", plugin, "--cloud-config", e.file("cloud.conf", cloud),
		"--leader-elect=false", "--cluster-cidr", "10.244.0.0/16", "--node-monitor-period", "500ms",
		"--route-reconciliation-period", "1s")...)

	e.createNode("n1", "10.244.1.0/24", true, nil)
	e.createNode("n2", "10.244.2.0/24", false, nil)
	e.waitNode("n1", "is initialized by the plugin", func(n *corev1.Node) error {
		labels := n.GetMetadata().GetLabels()
		if hasTaint(n, uninitializedTaint) || n.GetSpec().GetProviderId() != "fake://n1" ||
			labels["topology.kubernetes.io/zone"] != "fake-zone-a" || labels["node.kubernetes.io/instance-type"] != "fake.large" ||
			len(n.GetStatus().GetAddresses()) != 2 {
			return fmt.Errorf("taints %v, providerID %q, labels %v, addresses %v", n.GetSpec().GetTaints(),
				n.GetSpec().GetProviderId(), labels, n.GetStatus().GetAddresses())
		}
		return nil
	})

	t.Run("routes", func(t *testing.T) {
		waitRoutes(t, cloud, "n1=10.244.1.0/24", "n2=10.244.2.0/24", "ghost=192.168.7.0/24")
		e.waitNode("n1", "has its route", func(n *corev1.Node) error {
			for _, c := range n.GetStatus().GetConditions() {
				if c.GetType() == "NetworkUnavailable" && c.GetStatus() == "False" && c.GetReason() == "RouteCreated" {
					return nil
				}
			}
			return fmt.Errorf("conditions %v", n.GetStatus().GetConditions())
		})
	})

	t.Run("instances shut down and gone", func(t *testing.T) {
		touch(t, filepath.Join(cloud, "n2.shutdown"))
		e.waitNode("n2", "is tainted shut down", func(n *corev1.Node) error {
			if !hasTaint(n, shutdownTaint) {
				return fmt.Errorf("taints %v", n.GetSpec().GetTaints())
			}
			return nil
		})
		if err := os.Remove(filepath.Join(cloud, "n2.shutdown")); err != nil {
			t.Fatal(err)
		}
		touch(t, filepath.Join(cloud, "n2.gone"))
		framework.Eventually(t, wait, "node n2 is deleted", func() error {
			_, err := e.c.CoreV1().Nodes().Get(e.ctx, "n2")
			if client.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("still there (%v)", err)
		})
		waitRoutes(t, cloud, "n1=10.244.1.0/24", "ghost=192.168.7.0/24")
	})

	t.Run("a dead plugin is restarted", func(t *testing.T) {
		pid := pluginPid(t, cc, 0)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		pluginPid(t, cc, pid)
		framework.Eventually(t, wait, "the restart is counted", func() error {
			if n := framework.MetricSum(e.srv, metrics, "cloudprovider_plugin_restarts_total"); n < 1 {
				return fmt.Errorf("restarts %v", n)
			}
			return nil
		})
		e.createNode("n3", "10.244.3.0/24", true, nil)
		waitRoutes(t, cloud, "n1=10.244.1.0/24", "n3=10.244.3.0/24", "ghost=192.168.7.0/24")
		e.waitNode("n3", "is initialized by the restarted plugin", func(n *corev1.Node) error {
			if hasTaint(n, uninitializedTaint) || n.GetSpec().GetProviderId() != "fake://n3" {
				return fmt.Errorf("taints %v, providerID %q", n.GetSpec().GetTaints(), n.GetSpec().GetProviderId())
			}
			return nil
		})
	})
}

// TestLocalPluginRestartKeepsAddresses runs the local provider as a
// plugin program and kills it: the restarted plugin learns the addresses
// in use from the Services before it hands out a new one.
func TestLocalPluginRestartKeepsAddresses(t *testing.T) {
	e := setup(t)
	cfg := e.file("cloud.yaml", "loadBalancerPool: ['10.210.0.1-10.210.0.5']\n")
	cc := framework.StartCloudController(t, e.srv, "--cloud-provider", framework.CloudProviderLocal(t), "--cloud-config", cfg,
		"--leader-elect=false")
	e.createLB("a")
	e.createLB("b")
	a, b := e.waitIngress("a"), e.waitIngress("b")

	pid := pluginPid(t, cc, 0)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	pluginPid(t, cc, pid)
	e.createLB("c")
	c := e.waitIngress("c")
	if c == a || c == b {
		t.Fatalf("after the plugin restart c got %s, which a (%s) or b (%s) holds", c, a, b)
	}
	if got := e.ingress("a") + " " + e.ingress("b"); got != a+" "+b {
		t.Fatalf("addresses after the restart: got %s, want %s %s", got, a, b)
	}
	if !strings.HasPrefix(c, "10.210.0.") {
		t.Fatalf("c: got %s, want an address of the pool", c)
	}
}
