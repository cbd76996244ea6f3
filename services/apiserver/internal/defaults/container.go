package defaults

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/api/resource"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func container(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = PullPolicy(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = "/dev/termination-log"
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = "File"
	}
	for _, p := range c.Ports {
		if p.Protocol == "" {
			p.Protocol = "TCP"
		}
	}
	for _, e := range c.Env {
		fieldRef(e.GetValueFrom().GetFieldRef())
	}
	for _, p := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
		probe(p)
	}
	if l := c.GetLifecycle(); l != nil {
		httpGet(l.GetPostStart().GetHttpGet())
		httpGet(l.GetPreStop().GetHttpGet())
	}
	if c.Resources == nil {
		c.Resources = &corev1.ResourceRequirements{}
	}
	Canonical(c.Resources.Limits)
	Canonical(c.Resources.Requests)
}

func fieldRef(f *corev1.ObjectFieldSelector) {
	if f != nil && f.ApiVersion == "" {
		f.ApiVersion = "v1"
	}
}

// Canonical rewrites quantities the way Kubernetes stores them: rounded up
// to milli-units and in canonical form ("1000m" becomes "1", "1.5Gi"
// becomes "1536Mi"). Unparsable ones are left for validation to report.
func Canonical(list map[string]*metav1.Quantity) {
	for _, q := range list {
		if q == nil {
			continue
		}
		if v, err := resource.ParseQuantity(q.GetString_()); err == nil {
			v.RoundUp(resource.Milli)
			q.String_ = v.String()
		}
	}
}

// PullPolicy is the pull policy Kubernetes gives an image without one:
// Always for :latest or no tag (and no digest), IfNotPresent otherwise.
func PullPolicy(image string) string {
	if strings.Contains(image, "@") {
		return "IfNotPresent"
	}
	name := image[strings.LastIndex(image, "/")+1:]
	_, tag, ok := strings.Cut(name, ":")
	if !ok || tag == "latest" {
		return "Always"
	}
	return "IfNotPresent"
}

func probe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	httpGet(p.GetHandler().GetHttpGet())
	if g := p.GetHandler().GetGrpc(); g != nil && g.Service == nil {
		g.Service = proto.String("")
	}
}

func httpGet(h *corev1.HTTPGetAction) {
	if h == nil {
		return
	}
	if h.Path == "" {
		h.Path = "/"
	}
	if h.Scheme == "" {
		h.Scheme = "HTTP"
	}
}
