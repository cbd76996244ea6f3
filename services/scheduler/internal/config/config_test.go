package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"skiff.dev/services/scheduler/internal/scheduler"
)

func TestLoadProfiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	data := `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: packer
  plugins:
    score:
      disabled: [{name: "*"}]
      enabled: [{name: NodeResourcesBalancedAllocation, weight: 5}]
    filter:
      disabled: [{name: NodePorts}]
`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	profiles, err := Load(path, scheduler.Registry(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(profiles) != 2 || profiles[1].SchedulerName != "packer" {
		t.Fatalf("profiles: %v", profiles)
	}
	packer := profiles[1]
	if len(packer.Score) != 1 || packer.Score[0].Plugin.Name() != "NodeResourcesBalancedAllocation" || packer.Score[0].Weight != 5 {
		t.Fatalf("packer scores: %+v", packer.Score)
	}
	for _, f := range packer.Filter {
		if f.Name() == "NodePorts" {
			t.Fatal("NodePorts still filters")
		}
	}
	if len(profiles[0].Score) != len(scheduler.DefaultProfile().Score) {
		t.Fatal("the default profile changed")
	}
}

func TestBadConfigurations(t *testing.T) {
	for name, data := range map[string]string{
		"unknown plugin": "profiles: [{schedulerName: a, plugins: {score: {enabled: [{name: Nope}]}}}]",
		"unknown field":  "profiles: [{schedulerName: a, plugin: {}}]",
		"duplicate":      "profiles: [{schedulerName: a}, {schedulerName: a}]",
		"plugin policy":  "externalPlugins: [{name: X, path: /bin/x, failurePolicy: Maybe}]",
		"plugin no path": "externalPlugins: [{name: X}]",
		"plugin point":   "externalPlugins: [{name: X, path: /bin/x, extensionPoints: [bind]}]",
		"plugin timeout": "externalPlugins: [{name: X, path: /bin/x, timeout: 5}]",
		"plugin builtin": "externalPlugins: [{name: NodePorts, path: /bin/x}]",
		"percentage":     "percentageOfNodesToScore: 120",
		"plugin twice":   "externalPlugins: [{name: X, path: /bin/x}, {name: X, path: /bin/y}]",
		"plugin unknown": "externalPlugins: [{name: X, path: /bin/x, weight: 3}]",
		"args elsewhere": "profiles: [{pluginConfig: [{name: NodePorts, args: {bindTimeoutSeconds: 5}}]}]",
		"args zero":      "profiles: [{pluginConfig: [{name: VolumeBinding, args: {bindTimeoutSeconds: 0}}]}]",
		"args unknown":   "profiles: [{pluginConfig: [{name: VolumeBinding, args: {shape: 1}}]}]",
		"args differ": "profiles: [{schedulerName: a, pluginConfig: [{name: VolumeBinding, args: {bindTimeoutSeconds: 60}}]}," +
			" {schedulerName: b, pluginConfig: [{name: VolumeBinding, args: {bindTimeoutSeconds: 30}}]}]",
	} {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(path, scheduler.Registry(nil)); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

func TestExternalPlugins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	data := `externalPlugins:
- name: Maintenance
  path: /usr/local/bin/scheduler-plugin-maintenance
  args: [--annotation=example.com/maintenance]
  extensionPoints: [filter]
  timeout: 250ms
  failurePolicy: Fail
`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.ExternalPlugins) != 1 {
		t.Fatalf("plugins: %+v", f.ExternalPlugins)
	}
	p := f.ExternalPlugins[0]
	if p.Timeout.Duration != 250*time.Millisecond || p.FailurePolicy != "Fail" || p.Args[0] != "--annotation=example.com/maintenance" {
		t.Fatalf("plugin: %+v", p)
	}
}

func TestVolumeBindTimeout(t *testing.T) {
	for _, tc := range []struct {
		data string
		want time.Duration
	}{
		{data: "profiles: [{schedulerName: a}]", want: 0},
		{data: "profiles: [{pluginConfig: [{name: VolumeBinding, args: {bindTimeoutSeconds: 60}}]}]", want: time.Minute},
		{data: "profiles: [{schedulerName: a, pluginConfig: [{name: VolumeBinding, args: {bindTimeoutSeconds: 60}}]}," +
			" {schedulerName: b}, {schedulerName: c, pluginConfig: [{name: VolumeBinding, args: {bindTimeoutSeconds: 60}}]}]", want: time.Minute},
	} {
		path := filepath.Join(t.TempDir(), "c.yaml")
		if err := os.WriteFile(path, []byte(tc.data), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.VolumeBindTimeout(); got != tc.want {
			t.Errorf("%s: timeout %v, want %v", tc.data, got, tc.want)
		}
	}
}
