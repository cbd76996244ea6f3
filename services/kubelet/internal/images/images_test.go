package images

import (
	"context"
	"testing"

	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"skiff.dev/services/kubelet/internal/cri"
)

func TestCollectRemovesUnusedImagesDownToLow(t *testing.T) {
	ctx := context.Background()
	rt := cri.NewFake()
	rt.AddImage("sha256:big", "example/big:1", 300)
	rt.AddImage("sha256:mid", "example/mid:1", 200)
	rt.AddImage("sha256:small", "example/small:1", 100)
	rt.AddImage("sha256:used", "example/used:1", 500)
	sb, _ := rt.RunPodSandbox(ctx, &runtimeapi.RunPodSandboxRequest{Config: &runtimeapi.PodSandboxConfig{Metadata: &runtimeapi.PodSandboxMetadata{Name: "p"}}})
	if _, err := rt.CreateContainer(ctx, &runtimeapi.CreateContainerRequest{PodSandboxId: sb.GetPodSandboxId(),
		Config: &runtimeapi.ContainerConfig{Metadata: &runtimeapi.ContainerMetadata{Name: "c"}, Image: &runtimeapi.ImageSpec{Image: "sha256:used"}}}); err != nil {
		t.Fatal(err)
	}
	left := func() map[string]bool {
		list, _ := rt.ListImages(ctx, &runtimeapi.ListImagesRequest{})
		out := map[string]bool{}
		for _, img := range list.GetImages() {
			out[img.GetId()] = true
		}
		return out
	}

	// 80% used, below the high threshold of 85: nothing goes.
	disk := func(used uint64) func(string) (uint64, uint64, error) {
		return func(path string) (uint64, uint64, error) {
			if path != "/fake/images" {
				t.Errorf("measured %s, want the runtime's image filesystem", path)
			}
			return used, 1000, nil
		}
	}
	if err := collect(ctx, rt, 85, 60, disk(800)); err != nil {
		t.Fatal(err)
	}
	if len(left()) != 4 {
		t.Fatalf("images removed below the high threshold: %v", left())
	}
	// 90% used: free 300 (down to 60%), biggest unused first; the image a
	// container uses stays.
	if err := collect(ctx, rt, 85, 60, disk(900)); err != nil {
		t.Fatal(err)
	}
	got := left()
	if got["sha256:big"] || !got["sha256:mid"] || !got["sha256:small"] || !got["sha256:used"] {
		t.Errorf("after collection: %v, want big removed and the rest kept", got)
	}
}
