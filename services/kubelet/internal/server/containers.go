package server

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The CRI labels the kubelet puts on sandboxes and containers (see
// package pods), by which the server finds them.
const (
	labelPodName       = "io.kubernetes.pod.name"
	labelPodNamespace  = "io.kubernetes.pod.namespace"
	labelPodUID        = "io.kubernetes.pod.uid"
	labelContainerName = "io.kubernetes.container.name"
	labelNode          = "skiff.dev/node"
)

// instances returns the runtime's instances of a pod's container on this
// node, newest attempt first. When a pod of that name was replaced, only
// the newest pod's instances count.
func (s *Server) instances(ctx context.Context, ns, pod, container string) ([]*runtimeapi.Container, error) {
	resp, err := s.cfg.Runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{
		LabelSelector: map[string]string{labelNode: s.cfg.NodeName, labelPodNamespace: ns, labelPodName: pod, labelContainerName: container},
	}})
	if err != nil {
		return nil, fmt.Errorf("list the containers of pod %s/%s: %w", ns, pod, err)
	}
	cs := resp.GetContainers()
	if len(cs) == 0 {
		return nil, nil
	}
	newest := slices.MaxFunc(cs, func(a, b *runtimeapi.Container) int { return cmp.Compare(a.GetCreatedAt(), b.GetCreatedAt()) })
	uid := newest.GetLabels()[labelPodUID]
	cs = slices.DeleteFunc(slices.Clone(cs), func(c *runtimeapi.Container) bool { return c.GetLabels()[labelPodUID] != uid })
	slices.SortFunc(cs, func(a, b *runtimeapi.Container) int {
		if c := cmp.Compare(b.GetMetadata().GetAttempt(), a.GetMetadata().GetAttempt()); c != 0 {
			return c
		}
		return cmp.Compare(b.GetCreatedAt(), a.GetCreatedAt())
	})
	return cs, nil
}

// current is the newest instance of a container.
func (s *Server) current(ctx context.Context, ns, pod, container string) (*runtimeapi.Container, error) {
	cs, err := s.instances(ctx, ns, pod, container)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, badRequest(fmt.Sprintf("container %q in pod %q is waiting to start", container, pod))
	}
	return cs[0], nil
}

// running is the newest instance of a container, which must be running.
func (s *Server) running(ctx context.Context, ns, pod, container string) (*runtimeapi.Container, error) {
	c, err := s.current(ctx, ns, pod, container)
	if err != nil {
		return nil, err
	}
	if c.GetState() != runtimeapi.ContainerState_CONTAINER_RUNNING {
		return nil, badRequest(fmt.Sprintf("container %q in pod %q is not running", container, pod))
	}
	return c, nil
}

// sandbox is the ready sandbox of a pod on this node.
func (s *Server) sandbox(ctx context.Context, ns, pod string) (*runtimeapi.PodSandbox, error) {
	resp, err := s.cfg.Runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{Filter: &runtimeapi.PodSandboxFilter{
		State:         &runtimeapi.PodSandboxStateValue{State: runtimeapi.PodSandboxState_SANDBOX_READY},
		LabelSelector: map[string]string{labelNode: s.cfg.NodeName, labelPodNamespace: ns, labelPodName: pod},
	}})
	if err != nil {
		return nil, fmt.Errorf("list the sandboxes of pod %s/%s: %w", ns, pod, err)
	}
	items := resp.GetItems()
	if len(items) == 0 {
		return nil, notFound(fmt.Sprintf("pod %q has no running sandbox on node %s", pod, s.cfg.NodeName))
	}
	return slices.MaxFunc(items, func(a, b *runtimeapi.PodSandbox) int { return cmp.Compare(a.GetCreatedAt(), b.GetCreatedAt()) }), nil
}
