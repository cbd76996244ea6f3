package framework

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// writeConfig writes containerd's configuration and the CNI conflist.
func (c *Containerd) writeConfig() error {
	cniConf := filepath.Join(c.dir, "cni", "net.d")
	if err := os.MkdirAll(cniConf, 0o755); err != nil {
		return err
	}
	conflist, err := json.MarshalIndent(map[string]any{
		"cniVersion": "1.0.0",
		"name":       c.Network(),
		"plugins": []any{map[string]any{
			"type":        "bridge",
			"bridge":      c.Bridge(),
			"isGateway":   true,
			"ipMasq":      false,
			"hairpinMode": true,
			"ipam": map[string]any{
				"type":    "host-local",
				"ranges":  [][]map[string]string{{{"subnet": c.subnet.String()}}},
				"routes":  []map[string]string{{"dst": "0.0.0.0/0"}},
				"dataDir": filepath.Join(c.dir, "cni", "ipam"),
			},
		}},
	}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cniConf, "10-skiff.conflist"), conflist, 0o644); err != nil {
		return err
	}
	f, err := os.Create(c.configPath())
	if err != nil {
		return err
	}
	err = containerdConfig.Execute(f, map[string]string{
		"Root":         filepath.Join(c.dir, "root"),
		"State":        c.stateDir(),
		"Address":      c.Address(),
		"TTRPCAddress": c.Address() + ".ttrpc",
		"Opt":          filepath.Join(c.dir, "opt"),
		"SandboxImage": PauseImage,
		"CNIBinDir":    cniBinDir,
		"CNIConfDir":   cniConf,
		"RuncRoot":     c.runcRoot(),
	})
	return errors.Join(err, f.Close())
}

// containerdConfig is containerd's configuration (version 2, for
// containerd 1.6): everything under the private directory, CRI set up for
// these machines (no CAP_SYS_RESOURCE, cgroupfs, no image pulls).
var containerdConfig = template.Must(template.New("containerd.toml").Parse(`version = 2
root = {{printf "%q" .Root}}
state = {{printf "%q" .State}}
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.zfs",
]

[grpc]
  address = {{printf "%q" .Address}}

[ttrpc]
  address = {{printf "%q" .TTRPCAddress}}

[plugins."io.containerd.internal.v1.opt"]
  path = {{printf "%q" .Opt}}

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = {{printf "%q" .SandboxImage}}
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false

[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = {{printf "%q" .CNIBinDir}}
  conf_dir = {{printf "%q" .CNIConfDir}}
  max_conf_num = 1

[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "runc"
  snapshotter = "overlayfs"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  SystemdCgroup = false
  Root = {{printf "%q" .RuncRoot}}
`))

// freeSubnet picks a random 10.100-250.x.0/24 that no route of this
// machine overlaps.
func freeSubnet() (*net.IPNet, error) {
	table, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return nil, err
	}
	return pickSubnet(parseRoutes(string(table)), rand.IntN)
}

// pickSubnet draws 10.100-250.x.0/24s with intn until one overlaps none
// of routes.
func pickSubnet(routes []*net.IPNet, intn func(int) int) (*net.IPNet, error) {
	for range 100 {
		n := &net.IPNet{
			IP:   net.IPv4(10, byte(100+intn(151)), byte(intn(256)), 0).To4(),
			Mask: net.CIDRMask(24, 32),
		}
		if !slices.ContainsFunc(routes, func(r *net.IPNet) bool { return r.Contains(n.IP) || n.Contains(r.IP) }) {
			return n, nil
		}
	}
	return nil, errors.New("no free /24 in 10.100.0.0-10.250.255.0")
}

// parseRoutes reads the destinations of /proc/net/route (little-endian
// hex), but the default route.
func parseRoutes(table string) []*net.IPNet {
	var nets []*net.IPNet
	for _, line := range strings.Split(table, "\n")[1:] {
		f := strings.Fields(line)
		if len(f) < 8 {
			continue
		}
		dst, err1 := strconv.ParseUint(f[1], 16, 32)
		mask, err2 := strconv.ParseUint(f[7], 16, 32)
		if err1 != nil || err2 != nil || mask == 0 {
			continue
		}
		n := &net.IPNet{IP: make(net.IP, 4), Mask: make(net.IPMask, 4)}
		binary.LittleEndian.PutUint32(n.IP, uint32(dst))
		binary.LittleEndian.PutUint32(n.Mask, uint32(mask))
		nets = append(nets, n)
	}
	return nets
}

// forwardRule accepts traffic between the pods on the bridge. Bridged
// frames go through iptables when bridge-nf-call-iptables is 1, and the
// FORWARD policy is DROP where Docker runs.
func (c *Containerd) forwardRule() []string {
	return []string{"FORWARD", "-i", c.Bridge(), "-o", c.Bridge(),
		"-m", "comment", "--comment", c.Network(), "-j", "ACCEPT"}
}

func (c *Containerd) iptables(op string) error {
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil // no iptables, no FORWARD policy to get past
	}
	args := append([]string{"-w", op}, c.forwardRule()...)
	if out, err := exec.Command("iptables", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func (c *Containerd) allowForwarding() error { return c.iptables("-I") }

func (c *Containerd) removeForwarding() error {
	if !c.hasForwardRule() {
		return nil
	}
	return c.iptables("-D")
}

func (c *Containerd) hasForwardRule() bool {
	if _, err := exec.LookPath("iptables"); err != nil {
		return false
	}
	return exec.Command("iptables", append([]string{"-w", "-C"}, c.forwardRule()...)...).Run() == nil
}
