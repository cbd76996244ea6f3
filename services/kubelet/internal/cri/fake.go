package cri

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Fake is an in-memory runtime with no containers behind it: sandboxes get
// made-up IPs, containers run until they are stopped, every image is
// present, exec succeeds; a container whose command is [exit, N] exits
// with N as soon as it starts (a Job's pod that finishes). It exists to simulate many nodes in one process
// (hollow nodes) for benchmarks, never as a default.
type Fake struct {
	// The embedded interfaces are nil: calling a method the fake does not
	// implement panics, which a benchmark shows at once.
	runtimeapi.RuntimeServiceClient
	runtimeapi.ImageServiceClient

	mu         sync.Mutex
	sandboxes  map[string]*runtimeapi.PodSandbox
	ips        map[string]string
	containers map[string]*fakeContainer
	images     map[string]*runtimeapi.Image // what ListImages shows, by id
	nextIP     atomic.Uint32
}

type fakeContainer struct {
	c      *runtimeapi.Container
	status *runtimeapi.ContainerStatus
	// exitCode, when set, ends the container as it starts.
	exitCode *int32
}

// exitCommand is N of a command [exit, N] (or [exit], 0).
func exitCommand(cmd []string) *int32 {
	if len(cmd) == 0 || cmd[0] != "exit" || len(cmd) > 2 {
		return nil
	}
	code := int32(0)
	if len(cmd) == 2 {
		n, err := strconv.ParseUint(cmd[1], 10, 8)
		if err != nil {
			return nil
		}
		code = int32(n)
	}
	return &code
}

var _ Runtime = (*Fake)(nil)

// NewFake returns an empty fake runtime.
func NewFake() *Fake {
	return &Fake{sandboxes: map[string]*runtimeapi.PodSandbox{}, ips: map[string]string{}, containers: map[string]*fakeContainer{},
		images: map[string]*runtimeapi.Image{}}
}

func newID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (f *Fake) Version(context.Context, *runtimeapi.VersionRequest, ...grpc.CallOption) (*runtimeapi.VersionResponse, error) {
	return &runtimeapi.VersionResponse{Version: "0.1.0", RuntimeName: "fake", RuntimeVersion: "0.1.0", RuntimeApiVersion: "v1"}, nil
}

func (f *Fake) Status(context.Context, *runtimeapi.StatusRequest, ...grpc.CallOption) (*runtimeapi.StatusResponse, error) {
	return &runtimeapi.StatusResponse{Status: &runtimeapi.RuntimeStatus{Conditions: []*runtimeapi.RuntimeCondition{
		{Type: runtimeapi.RuntimeReady, Status: true}, {Type: runtimeapi.NetworkReady, Status: true}}}}, nil
}

func (f *Fake) RunPodSandbox(_ context.Context, r *runtimeapi.RunPodSandboxRequest, _ ...grpc.CallOption) (*runtimeapi.RunPodSandboxResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := newID()
	n := f.nextIP.Add(1)
	f.sandboxes[id] = &runtimeapi.PodSandbox{Id: id, Metadata: r.GetConfig().GetMetadata(), State: runtimeapi.PodSandboxState_SANDBOX_READY,
		CreatedAt: time.Now().UnixNano(), Labels: maps.Clone(r.GetConfig().GetLabels()), Annotations: maps.Clone(r.GetConfig().GetAnnotations()),
		RuntimeHandler: r.GetRuntimeHandler()}
	f.ips[id] = fmt.Sprintf("10.%d.%d.%d", 128+n>>16&63, n>>8&255, n&255)
	return &runtimeapi.RunPodSandboxResponse{PodSandboxId: id}, nil
}

func (f *Fake) StopPodSandbox(_ context.Context, r *runtimeapi.StopPodSandboxRequest, _ ...grpc.CallOption) (*runtimeapi.StopPodSandboxResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.sandboxes[r.GetPodSandboxId()]; ok {
		s.State = runtimeapi.PodSandboxState_SANDBOX_NOTREADY
		for _, c := range f.containers {
			if c.c.GetPodSandboxId() == s.GetId() {
				f.exit(c, 137)
			}
		}
	}
	return &runtimeapi.StopPodSandboxResponse{}, nil
}

func (f *Fake) RemovePodSandbox(_ context.Context, r *runtimeapi.RemovePodSandboxRequest, _ ...grpc.CallOption) (*runtimeapi.RemovePodSandboxResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.sandboxes, r.GetPodSandboxId())
	delete(f.ips, r.GetPodSandboxId())
	for id, c := range f.containers {
		if c.c.GetPodSandboxId() == r.GetPodSandboxId() {
			delete(f.containers, id)
		}
	}
	return &runtimeapi.RemovePodSandboxResponse{}, nil
}

func (f *Fake) PodSandboxStatus(_ context.Context, r *runtimeapi.PodSandboxStatusRequest, _ ...grpc.CallOption) (*runtimeapi.PodSandboxStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sandboxes[r.GetPodSandboxId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "sandbox %s not found", r.GetPodSandboxId())
	}
	return &runtimeapi.PodSandboxStatusResponse{Status: &runtimeapi.PodSandboxStatus{Id: s.GetId(), Metadata: s.GetMetadata(),
		State: s.GetState(), CreatedAt: s.GetCreatedAt(), Network: &runtimeapi.PodSandboxNetworkStatus{Ip: f.ips[s.GetId()]},
		Labels: s.GetLabels(), Annotations: s.GetAnnotations()}}, nil
}

func (f *Fake) ListPodSandbox(_ context.Context, r *runtimeapi.ListPodSandboxRequest, _ ...grpc.CallOption) (*runtimeapi.ListPodSandboxResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &runtimeapi.ListPodSandboxResponse{}
	for _, s := range f.sandboxes {
		if matches(s.GetLabels(), r.GetFilter().GetLabelSelector()) {
			out.Items = append(out.Items, s)
		}
	}
	return out, nil
}

func (f *Fake) CreateContainer(_ context.Context, r *runtimeapi.CreateContainerRequest, _ ...grpc.CallOption) (*runtimeapi.CreateContainerResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.sandboxes[r.GetPodSandboxId()]; !ok {
		return nil, status.Errorf(codes.NotFound, "sandbox %s not found", r.GetPodSandboxId())
	}
	id, now := newID(), time.Now().UnixNano()
	cfg := r.GetConfig()
	c := &runtimeapi.Container{Id: id, PodSandboxId: r.GetPodSandboxId(), Metadata: cfg.GetMetadata(), Image: cfg.GetImage(),
		ImageRef: "sha256:" + id, State: runtimeapi.ContainerState_CONTAINER_CREATED, CreatedAt: now,
		Labels: maps.Clone(cfg.GetLabels()), Annotations: maps.Clone(cfg.GetAnnotations())}
	f.containers[id] = &fakeContainer{c: c, status: &runtimeapi.ContainerStatus{Id: id, Metadata: c.GetMetadata(), State: c.GetState(),
		CreatedAt: now, Image: c.GetImage(), ImageRef: c.GetImageRef(), Labels: c.GetLabels(), Annotations: c.GetAnnotations()},
		exitCode: exitCommand(cfg.GetCommand())}
	return &runtimeapi.CreateContainerResponse{ContainerId: id}, nil
}

func (f *Fake) StartContainer(_ context.Context, r *runtimeapi.StartContainerRequest, _ ...grpc.CallOption) (*runtimeapi.StartContainerResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[r.GetContainerId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "container %s not found", r.GetContainerId())
	}
	c.c.State, c.status.State, c.status.StartedAt = runtimeapi.ContainerState_CONTAINER_RUNNING, runtimeapi.ContainerState_CONTAINER_RUNNING, time.Now().UnixNano()
	if c.exitCode != nil {
		f.exit(c, *c.exitCode)
	}
	return &runtimeapi.StartContainerResponse{}, nil
}

func (f *Fake) StopContainer(_ context.Context, r *runtimeapi.StopContainerRequest, _ ...grpc.CallOption) (*runtimeapi.StopContainerResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if c, ok := f.containers[r.GetContainerId()]; ok {
		f.exit(c, 0)
	}
	return &runtimeapi.StopContainerResponse{}, nil
}

func (f *Fake) exit(c *fakeContainer, code int32) {
	if c.c.GetState() == runtimeapi.ContainerState_CONTAINER_EXITED {
		return
	}
	c.c.State, c.status.State = runtimeapi.ContainerState_CONTAINER_EXITED, runtimeapi.ContainerState_CONTAINER_EXITED
	c.status.FinishedAt, c.status.ExitCode = time.Now().UnixNano(), code
}

func (f *Fake) RemoveContainer(_ context.Context, r *runtimeapi.RemoveContainerRequest, _ ...grpc.CallOption) (*runtimeapi.RemoveContainerResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.containers, r.GetContainerId())
	return &runtimeapi.RemoveContainerResponse{}, nil
}

func (f *Fake) ListContainers(_ context.Context, r *runtimeapi.ListContainersRequest, _ ...grpc.CallOption) (*runtimeapi.ListContainersResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &runtimeapi.ListContainersResponse{}
	for _, c := range f.containers {
		if matches(c.c.GetLabels(), r.GetFilter().GetLabelSelector()) {
			out.Containers = append(out.Containers, c.c)
		}
	}
	return out, nil
}

func (f *Fake) ContainerStatus(_ context.Context, r *runtimeapi.ContainerStatusRequest, _ ...grpc.CallOption) (*runtimeapi.ContainerStatusResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.containers[r.GetContainerId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "container %s not found", r.GetContainerId())
	}
	return &runtimeapi.ContainerStatusResponse{Status: c.status}, nil
}

func (f *Fake) ExecSync(context.Context, *runtimeapi.ExecSyncRequest, ...grpc.CallOption) (*runtimeapi.ExecSyncResponse, error) {
	return &runtimeapi.ExecSyncResponse{}, nil
}

func (f *Fake) ImageStatus(_ context.Context, r *runtimeapi.ImageStatusRequest, _ ...grpc.CallOption) (*runtimeapi.ImageStatusResponse, error) {
	return &runtimeapi.ImageStatusResponse{Image: &runtimeapi.Image{Id: "sha256:fake", RepoTags: []string{r.GetImage().GetImage()}}}, nil
}

func (f *Fake) PullImage(_ context.Context, r *runtimeapi.PullImageRequest, _ ...grpc.CallOption) (*runtimeapi.PullImageResponse, error) {
	return &runtimeapi.PullImageResponse{ImageRef: "sha256:fake"}, nil
}

// AddImage makes an image show in ListImages (every image counts as
// present for ImageStatus anyway).
func (f *Fake) AddImage(id, tag string, size uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.images[id] = &runtimeapi.Image{Id: id, RepoTags: []string{tag}, Size: size}
}

func (f *Fake) ListImages(context.Context, *runtimeapi.ListImagesRequest, ...grpc.CallOption) (*runtimeapi.ListImagesResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &runtimeapi.ListImagesResponse{}
	for _, img := range f.images {
		out.Images = append(out.Images, img)
	}
	return out, nil
}

func (f *Fake) RemoveImage(_ context.Context, r *runtimeapi.RemoveImageRequest, _ ...grpc.CallOption) (*runtimeapi.RemoveImageResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.images, r.GetImage().GetImage())
	return &runtimeapi.RemoveImageResponse{}, nil
}

func (f *Fake) ImageFsInfo(context.Context, *runtimeapi.ImageFsInfoRequest, ...grpc.CallOption) (*runtimeapi.ImageFsInfoResponse, error) {
	return &runtimeapi.ImageFsInfoResponse{ImageFilesystems: []*runtimeapi.FilesystemUsage{{FsId: &runtimeapi.FilesystemIdentifier{Mountpoint: "/fake/images"}}}}, nil
}

func matches(labels, selector map[string]string) bool {
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}
