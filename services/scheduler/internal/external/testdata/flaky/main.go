// Command flaky is a scheduler plugin for tests: it rejects nodes labelled
// bad=true, scores a node by its score label, refuses nodes labelled
// nopermit=true, and crashes or hangs when the pod's name says so.
package main

import (
	"context"
	"os"
	"strconv"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/pkg/schedulerplugin"
)

type flaky struct{}

func (flaky) misbehave(pod *corev1.Pod) {
	switch pod.GetMetadata().GetName() {
	case "crash":
		os.Exit(3)
	case "hang":
		select {}
	}
}

func (f flaky) Filter(_ context.Context, pod *corev1.Pod, nodes []*corev1.Node) ([]schedulerplugin.Rejection, error) {
	f.misbehave(pod)
	var out []schedulerplugin.Rejection
	for _, n := range nodes {
		if n.GetMetadata().GetLabels()["bad"] == "true" {
			out = append(out, schedulerplugin.Rejection{Node: n.GetMetadata().GetName(), Reason: "node(s) were bad"})
		}
	}
	return out, nil
}

func (f flaky) Score(_ context.Context, pod *corev1.Pod, nodes []*corev1.Node) (map[string]int64, error) {
	f.misbehave(pod)
	out := map[string]int64{}
	for _, n := range nodes {
		v, _ := strconv.Atoi(n.GetMetadata().GetLabels()["score"])
		out[n.GetMetadata().GetName()] = int64(v)
	}
	return out, nil
}

func (f flaky) Permit(_ context.Context, pod *corev1.Pod, node *corev1.Node) (bool, string, error) {
	f.misbehave(pod)
	if node.GetMetadata().GetLabels()["nopermit"] == "true" {
		return false, "not permitted", nil
	}
	return true, "", nil
}

func main() { schedulerplugin.Serve("flaky", flaky{}) }
