package staticpods

import (
	"strings"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
)

// setDefaults gives a pod read from a file the defaults the apiserver
// gives pods it stores, for the fields the kubelet reads.
func setDefaults(pod *corev1.Pod) {
	spec := pod.GetSpec()
	if spec.GetRestartPolicy() == "" {
		spec.RestartPolicy = proto.String("Always")
	}
	if spec.GetDnsPolicy() == "" {
		spec.DnsPolicy = proto.String("ClusterFirst")
	}
	if spec.TerminationGracePeriodSeconds == nil {
		g := int64(30)
		spec.TerminationGracePeriodSeconds = &g
	}
	if spec.GetSchedulerName() == "" {
		spec.SchedulerName = proto.String("default-scheduler")
	}
	for _, c := range append(append([]*corev1.Container{}, spec.GetInitContainers()...), spec.GetContainers()...) {
		if c.GetImagePullPolicy() == "" {
			c.ImagePullPolicy = "IfNotPresent"
			if tag := c.GetImage()[strings.LastIndex(c.GetImage(), "/")+1:]; !strings.Contains(tag, ":") || strings.HasSuffix(tag, ":latest") {
				c.ImagePullPolicy = "Always"
			}
		}
		if c.GetTerminationMessagePath() == "" {
			c.TerminationMessagePath = "/dev/termination-log"
		}
		for _, p := range []*corev1.Probe{c.GetLivenessProbe(), c.GetReadinessProbe(), c.GetStartupProbe()} {
			if p == nil {
				continue
			}
			if p.GetPeriodSeconds() == 0 {
				p.PeriodSeconds = 10
			}
			if p.GetTimeoutSeconds() == 0 {
				p.TimeoutSeconds = 1
			}
			if p.GetSuccessThreshold() == 0 {
				p.SuccessThreshold = 1
			}
			if p.GetFailureThreshold() == 0 {
				p.FailureThreshold = 3
			}
		}
	}
}
