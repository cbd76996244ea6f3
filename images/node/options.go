package main

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"skiff.dev/pkg/component"
)

// options configure the node.
type options struct {
	component.Observability
	Kubeconfig      string
	ProxyKubeconfig string
	NodeName        string
	ClusterCIDR     string
	DataDir         string
	SandboxImage    string
	ImagePreloadDir string
	RegistryMirrors map[string]string
	LBInterface     string
	NodeIP          string
	ClusterDNS      []string
	ClusterDomain   string
	KubeletArgs     []string
	ProxyArgs       []string
	CSILocal        bool
	CSILocalArgs    []string
}

func defaultOptions() *options {
	host, _ := os.Hostname()
	return &options{
		Observability:   component.DefaultObservability(),
		NodeName:        host,
		ClusterCIDR:     "10.244.0.0/16",
		DataDir:         "/var/lib/skiff-node",
		SandboxImage:    "registry.skiff.local/pause:3.10",
		ImagePreloadDir: "/usr/share/skiff/images",
		LBInterface:     "lo",
		ClusterDNS:      []string{"10.96.0.10"},
		ClusterDomain:   "cluster.local",
		CSILocal:        true,
	}
}

func (o *options) AddFlags(fs *pflag.FlagSet) {
	o.Observability.AddFlags(fs)
	fs.StringVar(&o.Kubeconfig, "kubeconfig", o.Kubeconfig, "Kubeconfig of the apiserver, for the kubelet (and for the proxy when --proxy-kubeconfig is not given).")
	fs.StringVar(&o.ProxyKubeconfig, "proxy-kubeconfig", o.ProxyKubeconfig, "Kubeconfig of the proxy and of the node's own watch of Nodes and Services, with the proxy's identity (system:kube-proxy); default --kubeconfig.")
	fs.StringVar(&o.NodeName, "hostname-override", o.NodeName, "Node name (default: the host name).")
	fs.StringVar(&o.ClusterCIDR, "cluster-cidr", o.ClusterCIDR, "CIDR of all pods; traffic from pods to elsewhere is masqueraded.")
	fs.StringVar(&o.DataDir, "data-dir", o.DataDir, "Directory of containerd's images and containers, the kubelet's state and the CNI address store (mount a volume here).")
	fs.StringVar(&o.SandboxImage, "sandbox-image", o.SandboxImage, "Pause image of pod sandboxes.")
	fs.StringVar(&o.ImagePreloadDir, "image-preload-dir", o.ImagePreloadDir, "Image tarballs the kubelet imports at start (the pause image and the add-ons' images, such as CoreDNS).")
	fs.StringToStringVar(&o.RegistryMirrors, "registry-mirror", o.RegistryMirrors, "Registries containerd reaches elsewhere, host=endpoint (localhost:5000=http://registry:5000).")
	fs.StringVar(&o.LBInterface, "lb-interface", o.LBInterface, "Interface holding the LoadBalancer ingress IPs as local /32 addresses (labelled <interface>:lb), so the node answers ARP for them; empty disables announcing them.")
	fs.StringVar(&o.NodeIP, "node-ip", o.NodeIP, "The node's IP address, given to the kubelet and where the node resolver for pods listens (default: the first IPv4 address of the default route's interface).")
	fs.StringSliceVar(&o.ClusterDNS, "cluster-dns", o.ClusterDNS, "Cluster DNS server addresses the kubelet gives pods with dnsPolicy ClusterFirst (the cluster DNS Service's IP); empty: pods fall back to the node resolver.")
	fs.StringVar(&o.ClusterDomain, "cluster-domain", o.ClusterDomain, "The cluster's DNS domain, for the kubelet (pod search paths, hostnames of pods with a subdomain).")
	fs.StringArrayVar(&o.KubeletArgs, "kubelet-arg", o.KubeletArgs, "Further flag for the kubelet (repeatable), e.g. --kubelet-arg=--client-ca-file=/ca.crt.")
	fs.StringArrayVar(&o.ProxyArgs, "proxy-arg", o.ProxyArgs, "Further flag for the proxy (repeatable).")
	fs.BoolVar(&o.CSILocal, "csi-local", o.CSILocal, "Run Skiff's local CSI driver (skiff-csi-local, local.csi.skiff.dev) beside the kubelet, registered through the kubelet's plugins_registry, its volumes under <data-dir>/csi-local. Its provisioner and StorageClass are the add-on deploy/addons/csi-local.yaml.")
	fs.StringArrayVar(&o.CSILocalArgs, "csi-local-arg", o.CSILocalArgs, "Further flag for the local CSI driver (repeatable), e.g. --csi-local-arg=--capacity=10Gi.")
}

func (o *options) validate() error {
	var errs []error
	if o.Kubeconfig == "" {
		errs = append(errs, errors.New("--kubeconfig is required"))
	}
	if o.NodeName == "" {
		errs = append(errs, errors.New("--hostname-override is required when the host has no name"))
	}
	if p, err := netip.ParsePrefix(o.ClusterCIDR); err != nil || !p.Addr().Is4() {
		errs = append(errs, fmt.Errorf("--cluster-cidr %q: want an IPv4 CIDR", o.ClusterCIDR))
	}
	if o.NodeIP != "" {
		if a, err := netip.ParseAddr(o.NodeIP); err != nil || !a.Is4() {
			errs = append(errs, fmt.Errorf("--node-ip %q: want an IPv4 address", o.NodeIP))
		}
	}
	for _, ip := range o.ClusterDNS {
		if _, err := netip.ParseAddr(ip); err != nil {
			errs = append(errs, fmt.Errorf("--cluster-dns %q: not an IP address", ip))
		}
	}
	for host, ep := range o.RegistryMirrors {
		if host == "" || !strings.HasPrefix(ep, "http://") && !strings.HasPrefix(ep, "https://") {
			errs = append(errs, fmt.Errorf("--registry-mirror %s=%s: want host=http(s)://endpoint", host, ep))
		}
	}
	return errors.Join(append(errs, o.Observability.Validate())...)
}
