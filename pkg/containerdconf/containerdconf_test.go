package containerdconf

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBridgeConflist(t *testing.T) {
	data, err := Bridge{Name: "skiff", Bridge: "cni0", Subnet: netip.MustParsePrefix("10.244.3.1/24"), DataDir: "/var/lib/cni"}.Conflist()
	if err != nil {
		t.Fatal(err)
	}
	var conf struct {
		Name    string
		Plugins []struct {
			Type, Bridge string
			IsGateway    bool `json:"isGateway"`
			IPMasq       bool `json:"ipMasq"`
			HairpinMode  bool `json:"hairpinMode"`
			IPAM         struct {
				Type    string
				Ranges  [][]map[string]string
				DataDir string `json:"dataDir"`
			}
		}
	}
	if err := json.Unmarshal(data, &conf); err != nil {
		t.Fatal(err)
	}
	if len(conf.Plugins) != 1 {
		t.Fatalf("plugins: %s", data)
	}
	p := conf.Plugins[0]
	if conf.Name != "skiff" || p.Type != "bridge" || p.Bridge != "cni0" || !p.IsGateway || p.IPMasq || !p.HairpinMode ||
		p.IPAM.Type != "host-local" || p.IPAM.Ranges[0][0]["subnet"] != "10.244.3.0/24" || p.IPAM.DataDir != "/var/lib/cni" {
		t.Errorf("conflist: %s", data)
	}
}

func TestWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	c := Config{Root: "/r", State: "/s", Address: "/s/containerd.sock", SandboxImage: "pause:1", CNIBinDir: "/bin/cni", CNIConfDir: "/etc/cni",
		Mirrors: map[string]string{"localhost:5000": "http://registry:5000", "a.example": "https://b.example"}}
	if err := Write(path, c); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	got := string(data)
	for _, want := range []string{
		`root = "/r"`, `address = "/s/containerd.sock"`, `address = "/s/containerd.sock.ttrpc"`,
		`sandbox_image = "pause:1"`, `restrict_oom_score_adj = true`, `SystemdCgroup = false`,
		`bin_dir = "/bin/cni"`, `conf_dir = "/etc/cni"`,
		"[plugins.\"io.containerd.grpc.v1.cri\".registry.mirrors.\"localhost:5000\"]\n  endpoint = [\"http://registry:5000\"]",
		// The conformance suite's preconfigured handler, runc as well.
		"[plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes.test-handler]\n  runtime_type = \"io.containerd.runc.v2\"",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("config lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, `mirrors."a.example"`) > strings.Index(got, `mirrors."localhost:5000"`) {
		t.Error("mirrors not in a stable order")
	}
	for _, absent := range []string{"io.containerd.internal.v1.opt", "Root ="} {
		if strings.Contains(got, absent) {
			t.Errorf("config has %q though the option is empty:\n%s", absent, got)
		}
	}
	c.Opt, c.RuncRoot = "/opt", "/runc"
	if err := Write(path, c); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(path)
	if !strings.Contains(string(data), `path = "/opt"`) || strings.Count(string(data), `Root = "/runc"`) != 2 {
		t.Errorf("Opt and RuncRoot not written:\n%s", data)
	}
}
