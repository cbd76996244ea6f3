package framework

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"skiff.dev/pkg/containerdconf"
)

// writeConfig writes containerd's configuration and the CNI conflist.
func (c *Containerd) writeConfig() error {
	cniConf := filepath.Join(c.dir, "cni", "net.d")
	if err := os.MkdirAll(cniConf, 0o755); err != nil {
		return err
	}
	subnet, ok := netip.AddrFromSlice(c.subnet.IP.To4())
	if !ok {
		return fmt.Errorf("subnet %v is not IPv4", c.subnet)
	}
	ones, _ := c.subnet.Mask.Size()
	conflist, err := containerdconf.Bridge{Name: c.Network(), Bridge: c.Bridge(),
		Subnet: netip.PrefixFrom(subnet, ones), DataDir: filepath.Join(c.dir, "cni", "ipam")}.Conflist()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(cniConf, "10-skiff.conflist"), conflist, 0o644); err != nil {
		return err
	}
	// Everything under the private directory; no image pulls.
	return containerdconf.Write(c.configPath(), containerdconf.Config{
		Root:         filepath.Join(c.dir, "root"),
		State:        c.stateDir(),
		Address:      c.Address(),
		Opt:          filepath.Join(c.dir, "opt"),
		SandboxImage: PauseImage,
		CNIBinDir:    cniBinDir,
		CNIConfDir:   cniConf,
		RuncRoot:     c.runcRoot(),
	})
}

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
