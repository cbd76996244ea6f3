package cri

import (
	"context"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestFakeLifecycle(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	sb, err := f.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "p", Uid: "u1"}, Labels: map[string]string{"pod": "u1"}}})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.PodSandboxStatus(ctx, &runtimeapi.PodSandboxStatusRequest{PodSandboxId: sb.GetPodSandboxId()})
	if st.GetStatus().GetNetwork().GetIp() == "" {
		t.Errorf("sandbox has no IP")
	}
	c, err := f.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.GetPodSandboxId(),
		Config: &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Labels: map[string]string{"pod": "u1"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.GetContainerId()}); err != nil {
		t.Fatal(err)
	}
	list, _ := f.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{LabelSelector: map[string]string{"pod": "u1"}}})
	if len(list.GetContainers()) != 1 || list.GetContainers()[0].GetState() != runtimeapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("containers %v, want one running", list.GetContainers())
	}
	if other, _ := f.ListContainers(ctx, &runtimeapi.ListContainersRequest{Filter: &runtimeapi.ContainerFilter{LabelSelector: map[string]string{"pod": "u2"}}}); len(other.GetContainers()) != 0 {
		t.Errorf("label filter let through %v", other.GetContainers())
	}
	// Stopping the sandbox ends its containers; removing it removes them.
	if _, err := f.StopPodSandbox(ctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: sb.GetPodSandboxId()}); err != nil {
		t.Fatal(err)
	}
	cs, _ := f.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.GetContainerId()})
	if cs.GetStatus().GetState() != runtimeapi.ContainerState_CONTAINER_EXITED || cs.GetStatus().GetFinishedAt() == 0 {
		t.Errorf("container after sandbox stop: %v", cs.GetStatus())
	}
	if _, err := f.RemovePodSandbox(ctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: sb.GetPodSandboxId()}); err != nil {
		t.Fatal(err)
	}
	if all, _ := f.ListContainers(ctx, &runtimeapi.ListContainersRequest{}); len(all.GetContainers()) != 0 {
		t.Errorf("containers left after removing the sandbox: %v", all.GetContainers())
	}
}

// A container whose command is [exit, N] ends with N as it starts.
func TestFakeExitCommand(t *testing.T) {
	ctx := context.Background()
	f := NewFake()
	sb, err := f.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{
		Metadata: &runtimeapi.PodSandboxMetadata{Name: "p", Uid: "u1"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		cmd   []string
		state runtimeapi.ContainerState
		code  int32
	}{
		{[]string{"exit", "3"}, runtimeapi.ContainerState_CONTAINER_EXITED, 3},
		{[]string{"exit"}, runtimeapi.ContainerState_CONTAINER_EXITED, 0},
		{[]string{"exit", "x"}, runtimeapi.ContainerState_CONTAINER_RUNNING, 0},
		{[]string{"sleep", "1"}, runtimeapi.ContainerState_CONTAINER_RUNNING, 0},
	} {
		c, err := f.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.GetPodSandboxId(),
			Config: &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Command: tt.cmd}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.StartContainer(ctx, &runtimeapi.StartContainerRequest{ContainerId: c.GetContainerId()}); err != nil {
			t.Fatal(err)
		}
		cs, _ := f.ContainerStatus(ctx, &runtimeapi.ContainerStatusRequest{ContainerId: c.GetContainerId()})
		if cs.GetStatus().GetState() != tt.state || cs.GetStatus().GetExitCode() != tt.code {
			t.Errorf("%v: state %v code %d, want %v %d", tt.cmd, cs.GetStatus().GetState(), cs.GetStatus().GetExitCode(), tt.state, tt.code)
		}
	}
}
