// Command scheduler-plugin-maintenance is an out-of-process scheduler
// plugin that keeps pods off nodes under maintenance. An administrator
// annotates a node:
//
//	kubectl annotate node n1 scheduling.skiff.dev/maintenance=active   # no new pods
//	kubectl annotate node n1 scheduling.skiff.dev/maintenance=planned  # avoid if possible
//
// Filter rejects nodes whose maintenance is active, Score ranks nodes with
// planned maintenance last, and Permit checks again just before binding,
// so a node that entered maintenance while the pod was being placed is
// not used. A pod annotated scheduling.skiff.dev/ignore-maintenance=true
// (a node agent, say) is not affected.
package main

import (
	"context"
	"flag"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/schedulerplugin"
)

func main() {
	m := &maintenance{}
	flag.StringVar(&m.annotation, "annotation", "scheduling.skiff.dev/maintenance",
		"Node annotation whose value is active (no new pods) or planned (avoid).")
	flag.StringVar(&m.ignore, "ignore-annotation", "scheduling.skiff.dev/ignore-maintenance",
		"Pod annotation that, set to true, lets a pod onto nodes under maintenance.")
	flag.Parse()
	schedulerplugin.Serve("maintenance", m)
}

type maintenance struct {
	annotation string
	ignore     string
}

const (
	active  = "active"
	planned = "planned"
)

func (m *maintenance) state(n *corev1.Node) string {
	return n.GetMetadata().GetAnnotations()[m.annotation]
}

func (m *maintenance) exempt(p *corev1.Pod) bool {
	return p.GetMetadata().GetAnnotations()[m.ignore] == "true"
}

func (m *maintenance) Filter(_ context.Context, pod *corev1.Pod, nodes []*corev1.Node) ([]schedulerplugin.Rejection, error) {
	if m.exempt(pod) {
		return nil, nil
	}
	var out []schedulerplugin.Rejection
	for _, n := range nodes {
		if m.state(n) == active {
			out = append(out, schedulerplugin.Rejection{Node: n.GetMetadata().GetName(), Reason: "node(s) were under maintenance"})
		}
	}
	return out, nil
}

func (m *maintenance) Score(_ context.Context, pod *corev1.Pod, nodes []*corev1.Node) (map[string]int64, error) {
	out := make(map[string]int64, len(nodes))
	for _, n := range nodes {
		if m.exempt(pod) || m.state(n) != planned {
			out[n.GetMetadata().GetName()] = 100
		}
	}
	return out, nil
}

func (m *maintenance) Permit(_ context.Context, pod *corev1.Pod, node *corev1.Node) (bool, string, error) {
	if !m.exempt(pod) && m.state(node) == active {
		return false, "node " + node.GetMetadata().GetName() + " went under maintenance", nil
	}
	return true, "", nil
}
