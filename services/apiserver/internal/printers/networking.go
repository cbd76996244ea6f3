package printers

import (
	"fmt"
	"slices"
	"strings"
	"time"

	metav1 "skiff.dev/api/meta/v1"
	networkingv1 "skiff.dev/api/networking/v1"
)

// maxIngressHosts is how many hosts an Ingress's row names before
// "+ N more...".
const maxIngressHosts = 3

func init() {
	register("networking.k8s.io", "NetworkPolicy", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Pod-Selector", "string", "podSelector selects the pods to which this NetworkPolicy object applies."),
			ageCol()},
		Cells: typed(func(np *networkingv1.NetworkPolicy, now time.Time) []any {
			sel := np.GetSpec().GetPodSelector()
			if sel == nil {
				sel = &metav1.LabelSelector{}
			}
			return []any{np.GetMetadata().GetName(), FormatLabelSelector(sel), Age(np.GetMetadata(), now)}
		}),
	})
	register("networking.k8s.io", "Ingress", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Class", "string", "The name of the IngressClass resource that should be used for additional configuration"),
			col("Hosts", "string", "Hosts that incoming requests are matched against before the ingress rule"),
			col("Address", "string", "Address is a list containing ingress points for the load-balancer"),
			col("Ports", "string", "Ports of TLS configurations that open"),
			ageCol()},
		Cells: typed(ingressCells),
	})
	register("networking.k8s.io", "IngressClass", &Printer{
		Columns: []*metav1.TableColumnDefinition{nameColumn(),
			col("Controller", "string", "Controller that is responsible for handling this class"),
			col("Parameters", "string", "A reference to a resource with additional parameters"),
			ageCol()},
		Cells: typed(func(ic *networkingv1.IngressClass, now time.Time) []any {
			return []any{ic.GetMetadata().GetName(), ic.GetSpec().GetController(),
				formatClassParameters(ic.GetSpec().GetParameters()), Age(ic.GetMetadata(), now)}
		}),
	})
}

func ingressCells(ing *networkingv1.Ingress, now time.Time) []any {
	class := "<none>"
	if ing.GetSpec() != nil && ing.GetSpec().IngressClassName != nil {
		class = ing.GetSpec().GetIngressClassName()
	}
	ports := "80"
	if len(ing.GetSpec().GetTls()) > 0 {
		ports = "80, 443"
	}
	return []any{ing.GetMetadata().GetName(), class, formatIngressHosts(ing.GetSpec().GetRules()),
		formatIngressAddress(ing.GetStatus().GetLoadBalancer()), ports, Age(ing.GetMetadata(), now)}
}

// formatIngressHosts names the rules' hosts as kubectl does: up to three,
// then "+ N more..." counting every rule after the third; "*" when no
// rule names a host.
func formatIngressHosts(rules []*networkingv1.IngressRule) string {
	var hosts []string
	more := false
	for _, r := range rules {
		if len(hosts) == maxIngressHosts {
			more = true
		}
		if !more && r.GetHost() != "" {
			hosts = append(hosts, r.GetHost())
		}
	}
	if len(hosts) == 0 {
		return "*"
	}
	out := strings.Join(hosts, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", out, len(rules)-maxIngressHosts)
	}
	return out
}

// formatIngressAddress lists the ingress points, each by IP or else host
// name, sorted and without repeats (the server's table is the wide one,
// so nothing is clipped).
func formatIngressAddress(lb *networkingv1.IngressLoadBalancerStatus) string {
	var addrs []string
	for _, in := range lb.GetIngress() {
		switch {
		case in.GetIp() != "":
			addrs = append(addrs, in.GetIp())
		case in.GetHostname() != "":
			addrs = append(addrs, in.GetHostname())
		}
	}
	slices.Sort(addrs)
	return strings.Join(slices.Compact(addrs), ",")
}

// formatClassParameters is "Kind.group/name", "<none>" without
// parameters.
func formatClassParameters(p *networkingv1.IngressClassParametersReference) string {
	if p == nil {
		return "<none>"
	}
	out := p.GetKind()
	if p.ApiGroup != nil {
		out += "." + p.GetApiGroup()
	}
	return out + "/" + p.GetName()
}
