package pods

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"skiff.dev/services/kubelet/internal/cri"
)

// Labels and annotations the kubelet puts on sandboxes and containers.
// The io.kubernetes ones are Kubernetes' own, so runtime tools show the
// same; skiff.dev/node lets kubelets share one runtime.
const (
	labelPodName       = "io.kubernetes.pod.name"
	labelPodNamespace  = "io.kubernetes.pod.namespace"
	labelPodUID        = "io.kubernetes.pod.uid"
	labelContainerName = "io.kubernetes.container.name"
	labelNode          = "skiff.dev/node"
	// annotationGrace is the pod's termination grace period, so a pod
	// whose object is gone is still stopped gently.
	annotationGrace = "skiff.dev/termination-grace-period"
	// annotationInit marks init containers.
	annotationInit = "skiff.dev/init-container"
)

// podState is what the runtime holds of one pod, newest first.
type podState struct {
	sandboxes  []*runtimeapi.PodSandbox
	containers []*runtimeapi.Container
}

// listNode returns the runtime's sandboxes and containers of this node by
// pod uid.
func listNode(ctx context.Context, rt cri.Runtime, node string) (map[string]*podState, error) {
	return list(ctx, rt, map[string]string{labelNode: node})
}

// listPod returns the runtime's sandboxes and containers of one pod.
func listPod(ctx context.Context, rt cri.Runtime, node, uid string) (*podState, error) {
	all, err := list(ctx, rt, map[string]string{labelNode: node, labelPodUID: uid})
	if err != nil {
		return nil, err
	}
	if ps, ok := all[uid]; ok {
		return ps, nil
	}
	return &podState{}, nil
}

func list(ctx context.Context, rt cri.Runtime, selector map[string]string) (map[string]*podState, error) {
	sbs, err := rt.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{
		Filter: &runtimeapi.PodSandboxFilter{LabelSelector: selector}})
	if err != nil {
		return nil, fmt.Errorf("list pod sandboxes: %w", err)
	}
	cs, err := rt.ListContainers(ctx, &runtimeapi.ListContainersRequest{
		Filter: &runtimeapi.ContainerFilter{LabelSelector: selector}})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := map[string]*podState{}
	get := func(uid string) *podState {
		ps, ok := out[uid]
		if !ok {
			ps = &podState{}
			out[uid] = ps
		}
		return ps
	}
	for _, s := range sbs.GetItems() {
		ps := get(s.GetLabels()[labelPodUID])
		ps.sandboxes = append(ps.sandboxes, s)
	}
	for _, c := range cs.GetContainers() {
		ps := get(c.GetLabels()[labelPodUID])
		ps.containers = append(ps.containers, c)
	}
	for _, ps := range out {
		slices.SortFunc(ps.sandboxes, func(a, b *runtimeapi.PodSandbox) int { return cmpNewest(a.GetCreatedAt(), b.GetCreatedAt()) })
		slices.SortFunc(ps.containers, func(a, b *runtimeapi.Container) int {
			if a.GetMetadata().GetAttempt() != b.GetMetadata().GetAttempt() {
				return int(b.GetMetadata().GetAttempt()) - int(a.GetMetadata().GetAttempt())
			}
			return cmpNewest(a.GetCreatedAt(), b.GetCreatedAt())
		})
	}
	return out, nil
}

func cmpNewest(a, b int64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// fingerprint changes whenever a sandbox or container appears, goes or
// changes state.
func (ps *podState) fingerprint() string {
	var b strings.Builder
	for _, s := range ps.sandboxes {
		b.WriteString(s.GetId()[:min(12, len(s.GetId()))] + strconv.Itoa(int(s.GetState())) + ",")
	}
	for _, c := range ps.containers {
		b.WriteString(c.GetId()[:min(12, len(c.GetId()))] + strconv.Itoa(int(c.GetState())) + ",")
	}
	return b.String()
}

// readySandbox is the newest sandbox if it is ready.
func (ps *podState) readySandbox() *runtimeapi.PodSandbox {
	if len(ps.sandboxes) > 0 && ps.sandboxes[0].GetState() == runtimeapi.PodSandboxState_SANDBOX_READY {
		return ps.sandboxes[0]
	}
	return nil
}

// containersOf returns a container's instances in the given sandbox,
// newest first.
func (ps *podState) containersOf(sandboxID, name string) []*runtimeapi.Container {
	var out []*runtimeapi.Container
	for _, c := range ps.containers {
		if c.GetPodSandboxId() == sandboxID && c.GetMetadata().GetName() == name {
			out = append(out, c)
		}
	}
	return out
}

// latest returns the newest instance of a container in any sandbox.
func (ps *podState) latest(name string) *runtimeapi.Container {
	for _, c := range ps.containers {
		if c.GetMetadata().GetName() == name {
			return c
		}
	}
	return nil
}
