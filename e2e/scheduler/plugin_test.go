package scheduler

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// pluginConfig writes a scheduler configuration that runs the example
// maintenance plugin in the default profile with a heavy score weight.
func pluginConfig(t testing.TB, policy string) string {
	t.Helper()
	cfg := fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
externalPlugins:
- name: Maintenance
  path: %s
  timeout: 2s
  failurePolicy: %s
profiles:
- schedulerName: default-scheduler
  plugins:
    multiPoint:
      enabled:
      - name: Maintenance
        weight: 20
`, framework.Binary(t, "maintenance"), policy)
	path := filepath.Join(t.TempDir(), "scheduler.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// annotate sets a node annotation the way kubectl annotate does.
func (e *env) annotate(node, key, value string) {
	e.t.Helper()
	framework.Eventually(e.t, 10*time.Second, "annotate "+node, func() error {
		n, err := e.c.CoreV1().Nodes().Get(e.ctx, node)
		if err != nil {
			return err
		}
		if n.Metadata.Annotations == nil {
			n.Metadata.Annotations = map[string]string{}
		}
		n.Metadata.Annotations[key] = value
		_, err = e.c.CoreV1().Nodes().Update(e.ctx, n, client.WriteOptions{})
		return err
	})
}

// pluginPid finds the plugin process the scheduler started.
func pluginPid(t *testing.T, scheduler int) int {
	t.Helper()
	var pid int
	framework.Eventually(t, 30*time.Second, "the plugin process runs", func() error {
		stats, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, f := range stats {
			data, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...
			s := string(data)
			end := strings.LastIndexByte(s, ')')
			if end < 0 || !strings.Contains(s[:end], "(maintenance") {
				continue
			}
			fields := strings.Fields(s[end+1:])
			if len(fields) > 1 && fields[1] == strconv.Itoa(scheduler) {
				pid, _ = strconv.Atoi(strings.Fields(s)[0])
				return nil
			}
		}
		return fmt.Errorf("no child of %d named maintenance", scheduler)
	})
	return pid
}

func TestExamplePluginChangesDecisions(t *testing.T) {
	e := setup(t, "--config", pluginConfig(t, "Ignore"))
	e.node("busy", "4", nil)
	e.node("soon", "4", nil)
	e.node("free", "4", nil)
	e.annotate("busy", "scheduling.skiff.dev/maintenance", "active")
	e.annotate("soon", "scheduling.skiff.dev/maintenance", "planned")

	// Without the plugin least-allocated scoring spreads these over all
	// three nodes; with it none goes to busy and all prefer free.
	for i := 0; i < 6; i++ {
		e.pod(fmt.Sprintf("p%d", i), cpu("100m"))
	}
	for i := 0; i < 6; i++ {
		if got := e.nodeOf(fmt.Sprintf("p%d", i)); got != "free" {
			t.Errorf("p%d landed on %s, want free", i, got)
		}
	}

	// A pod that would fit only on nodes under maintenance is reported
	// with the plugin's reason; one exempt from maintenance is placed.
	e.annotate("soon", "scheduling.skiff.dev/maintenance", "active")
	e.pod("agent", cpu("3500m"), func(p *corev1.Pod) {
		p.Metadata.Annotations = map[string]string{"scheduling.skiff.dev/ignore-maintenance": "true"}
	})
	if got := e.nodeOf("agent"); got != "busy" && got != "soon" {
		t.Errorf("the exempt pod landed on %s", got)
	}
	e.pod("big", cpu("3500m"))
	framework.Eventually(t, 60*time.Second, "big is unschedulable because of maintenance", func() error {
		p, err := e.c.CoreV1().Pods("default").Get(e.ctx, "big")
		if err != nil {
			return err
		}
		for _, c := range p.GetStatus().GetConditions() {
			if c.GetType() == "PodScheduled" && c.GetReason() == "Unschedulable" && strings.Contains(c.GetMessage(), "node(s) were under maintenance") {
				return nil
			}
		}
		return fmt.Errorf("node %q, conditions %v", p.GetSpec().GetNodeName(), p.GetStatus().GetConditions())
	})
}

func TestKilledPluginIsRestarted(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped with -short")
	}
	srv := framework.StartAPIServer(t, framework.NoServiceAccounts) // no controller-manager
	addr, serve := framework.SecurePort(t)
	sched := framework.StartScheduler(t, srv, append(serve, "--leader-elect=false", "--config", pluginConfig(t, "Ignore"))...)
	e := connect(t, srv)
	e.node("busy", "8", nil)
	e.node("free", "8", nil)
	e.annotate("busy", "scheduling.skiff.dev/maintenance", "active")
	e.pod("before", cpu("100m"))
	if got := e.nodeOf("before"); got != "free" {
		t.Fatalf("before landed on %s", got)
	}

	first := pluginPid(t, sched.Pid())
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// Scheduling goes on while the plugin is away (Ignore: as if it agreed).
	e.pod("during", cpu("100m"))
	e.nodeOf("during")

	framework.Eventually(t, 30*time.Second, "the plugin is restarted", func() error {
		if v := framework.MetricSum(srv, addr, "scheduler_plugin_restarts_total"); v < 1 {
			return fmt.Errorf("restarts %v", v)
		}
		return nil
	})
	if second := pluginPid(t, sched.Pid()); second == first {
		t.Fatalf("the plugin still runs as %d", first)
	}
	// The restarted plugin decides again.
	for i := 0; i < 4; i++ {
		e.pod(fmt.Sprintf("after%d", i), cpu("100m"))
	}
	for i := 0; i < 4; i++ {
		if got := e.nodeOf(fmt.Sprintf("after%d", i)); got != "free" {
			t.Errorf("after%d landed on %s after the restart", i, got)
		}
	}
}
