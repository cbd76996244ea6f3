package imagebuild

// StackTag is the tag of the stack's images, as docker-compose.yaml names
// them.
const StackTag = "dev"

// probe is the health check every stack image carries (images have no
// shell; compose runs it in exec form).
var probe = Tool{Package: "./probe", Path: "/usr/local/bin/probe"}

// etcdPKI generates the stack etcd's certificates.
var etcdPKI = Tool{Package: "./etcdpki", Path: "/usr/local/bin/etcd-pki"}

// servingCert issues the HA profile's apiservers their serving
// certificates from the first apiserver's CA (docker-compose.ha.yaml).
var servingCert = Tool{Package: "./servingcert", Path: "/usr/local/bin/serving-cert"}

// service is the image of a Skiff service, whose binary is the
// entrypoint, with any further tools.
func service(name string, tools ...Tool) Image {
	return Image{
		Package: "skiff.dev/services/" + name + "/cmd/" + name,
		Ref:     "skiff/" + name + ":" + StackTag,
		Binary:  "/usr/local/bin/" + name,
		Tools:   append([]Tool{probe}, tools...),
		Dirs:    []string{"/tmp"},
	}
}

// Stack are the images of docker-compose.yaml (`make stack-images`): the
// services, the third-party parts built from their Go modules (etcd, the
// registry, the Jaeger collector), the HA profile's load balancer and the
// node.
var Stack = []Image{
	service("apiserver", servingCert),
	service("scheduler"),
	service("controller-manager"),
	service("cloud-controller"),
	// etcd-pki is the one-shot container that generates etcd's
	// certificates before etcd starts (docker-compose.yaml's etcd-pki).
	{Package: "./etcd", Ref: "skiff/etcd:" + StackTag, Binary: "/usr/local/bin/etcd", Tools: []Tool{probe, etcdPKI}, Dirs: []string{"/tmp"}},
	// controlplane-pki runs charts/skiff's hook Jobs and test Pod: the
	// control plane's certificates and kubeconfigs as Secrets, the node
	// bootstrap token, the readiness and leader checks (docs/helm.md).
	{Package: "skiff.dev/services/apiserver/cmd/controlplane-pki", Ref: "skiff/pki:" + StackTag, Binary: "/usr/local/bin/controlplane-pki", Tools: []Tool{probe}, Dirs: []string{"/tmp"}},
	{Package: "./registry", Ref: "skiff/registry:" + StackTag, Binary: "/usr/local/bin/registry", Tools: []Tool{probe}, Dirs: []string{"/tmp"}},
	// The HA profile's load balancer: HAProxy from this machine's Debian
	// package, with its libraries; deploy/compose/haproxy.cfg says what
	// it does.
	{
		Ref: "skiff/haproxy:" + StackTag, Host: []string{"/usr/sbin/haproxy"}, Packages: []string{"haproxy"},
		Cmd:   []string{"/usr/sbin/haproxy", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"},
		Tools: []Tool{probe}, Dirs: []string{"/tmp", "/run"},
	},
	{Prebuilt: "../bin/jaeger", Ref: "skiff/jaeger:" + StackTag, Binary: "/usr/local/bin/jaeger", Tools: []Tool{probe}, Dirs: []string{"/tmp"}},
	{
		Package: "./node", Ref: "skiff/node:" + StackTag, Binary: "/usr/local/bin/skiff-node",
		Tools: []Tool{
			{Package: "skiff.dev/services/kubelet/cmd/kubelet", Path: "/usr/local/bin/kubelet"},
			{Package: "skiff.dev/services/proxy/cmd/proxy", Path: "/usr/local/bin/proxy"},
			// The local CSI driver runs beside the kubelet (skiff-node
			// --csi-local); its provisioner is an add-on (CSILocalImage).
			{Package: "skiff.dev/plugins/csi/cmd/skiff-csi-local", Path: "/usr/local/bin/skiff-csi-local"},
			probe,
		},
		// containerd and runc, CNI plugins and nft come from this machine's
		// Debian packages, with their libraries.
		Host: []string{
			"/usr/bin/containerd", "/usr/bin/containerd-shim-runc-v2", "/usr/bin/ctr", "/usr/sbin/runc",
			"/usr/lib/cni/bridge", "/usr/lib/cni/host-local", "/usr/lib/cni/loopback",
			"/usr/sbin/nft",
		},
		Packages: []string{"containerd", "runc", "containernetworking-plugins", "nftables"},
		Preload:  []string{"registry.skiff.local/pause:3.10", CoreDNSImage, CSILocalImage},
		Dirs:     []string{"/tmp", "/run", "/var/lib"},
		Env:      []string{"PATH=/usr/local/bin:/usr/bin:/usr/sbin:/bin:/sbin"},
	},
}
