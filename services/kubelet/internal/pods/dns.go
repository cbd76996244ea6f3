package pods

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	corev1 "skiff.dev/api/core/v1"
)

// Kubernetes' limits of a pod's resolver configuration (the API's
// validation of dnsConfig uses the same): nameservers the C library
// reads, search paths, characters of the search line, and characters of
// one search path (longer ones make some C libraries abort).
const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
	maxDNSSearchPathChars = 253
	// maxResolvConfBytes bounds the --resolv-conf file read.
	maxResolvConfBytes = 10 << 20
)

// clusterDNSOptions are the options of ClusterFirst pods: names with
// fewer than five dots are tried against the search paths first.
var clusterDNSOptions = []string{"ndots:5"}

// DNS is the kubelet's DNS configuration (--cluster-dns, --cluster-domain,
// --resolv-conf).
type DNS struct {
	// ClusterDNS are the cluster DNS servers of ClusterFirst pods; with
	// none, those pods get the Default policy's configuration.
	ClusterDNS []string
	// ClusterDomain is the cluster's DNS domain ("cluster.local"); empty
	// adds no cluster search paths and gives no pod a domain.
	ClusterDomain string
	// ResolvConf is the file Default pods (and ClusterFirst pods' search
	// paths) start from; empty means none: Default pods ask 127.0.0.1.
	ResolvConf string
}

// dnsEvent is a warning forming a pod's DNS configuration raises, as
// Kubernetes' kubelet records it.
type dnsEvent struct {
	reason, message string
	// node also records it on the Node.
	node bool
}

// podDNS is the pod's resolver configuration by its dnsPolicy and
// dnsConfig, as Kubernetes' kubelet forms it, and the warnings to record.
func (d DNS) podDNS(pod *corev1.Pod) (*runtimeapi.DNSConfig, []dnsEvent, error) {
	host, err := d.hostDNS()
	if err != nil {
		return nil, nil, err
	}
	cfg, events := d.formPodDNS(host, pod)
	return cfg, events, nil
}

// hostDNS reads the --resolv-conf file; with none, it is empty.
func (d DNS) hostDNS() (*runtimeapi.DNSConfig, error) {
	if d.ResolvConf == "" {
		return &runtimeapi.DNSConfig{}, nil
	}
	f, err := os.Open(d.ResolvConf)
	if err != nil {
		return nil, fmt.Errorf("open the resolver configuration --resolv-conf: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxResolvConfBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the resolver configuration --resolv-conf: %w", err)
	}
	if len(data) > maxResolvConfBytes {
		return nil, fmt.Errorf("resolver configuration %s is larger than %d bytes", d.ResolvConf, maxResolvConfBytes)
	}
	return parseResolvConf(string(data))
}

// parseResolvConf reads a resolv.conf as Kubernetes' kubelet does:
// nameservers add up, the last search line wins (trailing dots cut, "."
// dropped), options add up with a later one of the same name winning.
func parseResolvConf(data string) (*runtimeapi.DNSConfig, error) {
	cfg := &runtimeapi.DNSConfig{}
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch f[0] {
		case "nameserver":
			if len(f) < 2 {
				return nil, fmt.Errorf("parse the resolver configuration: nameserver list is empty")
			}
			cfg.Servers = append(cfg.Servers, f[1])
		case "search":
			cfg.Searches = []string{}
			for _, s := range f[1:] {
				if s != "." {
					cfg.Searches = append(cfg.Searches, strings.TrimSuffix(s, "."))
				}
			}
		case "options":
			cfg.Options = mergeOptions(cfg.Options, f[1:])
		}
	}
	return cfg, nil
}

// formPodDNS is podDNS on an already read host configuration.
func (d DNS) formPodDNS(host *runtimeapi.DNSConfig, pod *corev1.Pod) (*runtimeapi.DNSConfig, []dnsEvent) {
	var events []dnsEvent
	cfg := host
	switch dnsType(pod) {
	case "None":
		cfg = &runtimeapi.DNSConfig{}
	case "Cluster":
		if len(d.ClusterDNS) > 0 {
			cfg = &runtimeapi.DNSConfig{Servers: slices.Clone(d.ClusterDNS),
				Searches: d.clusterSearches(host.Searches, pod.GetMetadata().GetNamespace()),
				Options:  slices.Clone(clusterDNSOptions)}
			break
		}
		msg := `kubelet does not have ClusterDNS IP configured and cannot create Pod using "ClusterFirst" policy. Falling back to "Default" policy.`
		events = append(events, dnsEvent{reason: "MissingClusterDNS", message: msg, node: true})
		cfg = d.defaultDNS(host)
	case "Host":
		cfg = d.defaultDNS(host)
	}
	if pc := pod.GetSpec().GetDnsConfig(); pc != nil {
		cfg = &runtimeapi.DNSConfig{
			Servers:  uniq(append(slices.Clone(cfg.Servers), pc.GetNameservers()...)),
			Searches: uniq(append(slices.Clone(cfg.Searches), pc.GetSearches()...)),
			Options:  mergeOptions(cfg.Options, podOptions(pc)),
		}
	}
	return fitDNSLimits(cfg, events)
}

// dnsType is the configuration the pod's dnsPolicy asks for: "None",
// "Cluster" or "Host". ClusterFirst on the host network is Default; an
// unset policy is ClusterFirst, the API's default.
func dnsType(pod *corev1.Pod) string {
	switch pod.GetSpec().GetDnsPolicy() {
	case "None":
		return "None"
	case "Default":
		return "Host"
	case "ClusterFirstWithHostNet":
		return "Cluster"
	}
	if pod.GetSpec().GetHostNetwork() {
		return "Host"
	}
	return "Cluster"
}

// defaultDNS is the Default policy's configuration: the host's; with no
// --resolv-conf, the local resolver and no search path.
func (d DNS) defaultDNS(host *runtimeapi.DNSConfig) *runtimeapi.DNSConfig {
	if d.ResolvConf != "" {
		return &runtimeapi.DNSConfig{Servers: slices.Clone(host.Servers), Searches: slices.Clone(host.Searches), Options: slices.Clone(host.Options)}
	}
	return &runtimeapi.DNSConfig{Servers: []string{"127.0.0.1"}, Searches: []string{"."}}
}

// clusterSearches are a ClusterFirst pod's search paths: its namespace's
// Service domain, the Service domain, the cluster domain, then the
// host's.
func (d DNS) clusterSearches(host []string, namespace string) []string {
	if d.ClusterDomain == "" {
		return slices.Clone(host)
	}
	own := []string{namespace + ".svc." + d.ClusterDomain, "svc." + d.ClusterDomain, d.ClusterDomain}
	return uniq(append(own, host...))
}

// podOptions are the pod's dnsConfig options as resolv.conf words.
func podOptions(pc *corev1.PodDNSConfig) []string {
	var out []string
	for _, o := range pc.GetOptions() {
		if v := o.GetValue(); v != "" {
			out = append(out, o.GetName()+":"+v)
		} else {
			out = append(out, o.GetName())
		}
	}
	return out
}

// mergeOptions adds options to base; one whose name (before ':') is
// already there replaces it in place.
func mergeOptions(base, add []string) []string {
	out := slices.Clone(base)
	for _, o := range add {
		name, _, _ := strings.Cut(o, ":")
		i := slices.IndexFunc(out, func(e string) bool { n, _, _ := strings.Cut(e, ":"); return n == name })
		if i >= 0 {
			out[i] = o
		} else {
			out = append(out, o)
		}
	}
	return out
}

// uniq drops the repeats of a list, keeping first places.
func uniq(list []string) []string {
	out := []string{}
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// fitDNSLimits cuts the configuration to Kubernetes' limits, with a
// DNSConfigForming warning for each cut (nameservers, search line).
func fitDNSLimits(cfg *runtimeapi.DNSConfig, events []dnsEvent) (*runtimeapi.DNSConfig, []dnsEvent) {
	if len(cfg.Servers) > maxDNSNameservers {
		cfg.Servers = cfg.Servers[:maxDNSNameservers]
		events = append(events, dnsEvent{reason: "DNSConfigForming", message: "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: " + strings.Join(cfg.Servers, " ")})
	}
	searches, cut := fitSearches(cfg.Searches)
	cfg.Searches = searches
	if cut {
		events = append(events, dnsEvent{reason: "DNSConfigForming", message: "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: " + strings.Join(searches, " ")})
	}
	return cfg, events
}

// fitSearches keeps the first maxDNSSearchPaths search paths, drops those
// over maxDNSSearchPathChars, and then cuts from the end until the line
// fits maxDNSSearchListChars; cut tells whether anything went.
func fitSearches(searches []string) (out []string, cut bool) {
	if len(searches) > maxDNSSearchPaths {
		searches, cut = searches[:maxDNSSearchPaths], true
	}
	for _, s := range searches {
		if len(s) > maxDNSSearchPathChars {
			cut = true
			continue
		}
		out = append(out, s)
	}
	for len(out) > 0 && len(strings.Join(out, " ")) > maxDNSSearchListChars {
		out, cut = out[:len(out)-1], true
	}
	if out == nil && searches != nil {
		out = []string{}
	}
	return out, cut
}
