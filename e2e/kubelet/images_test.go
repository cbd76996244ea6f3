package kubelet

import (
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"skiff.dev/e2e/framework"
)

// TestImagePullPolicies: images the node lacks are pulled from a registry
// (IfNotPresent and Always); a preloaded tarball runs with Never; Never with a missing image waits with
// ErrImageNeverPull; an image that does not exist backs off with
// ImagePullBackOff.
func TestImagePullPolicies(t *testing.T) {
	cl := startCluster(t)
	reg := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(reg.Close)
	host := strings.TrimPrefix(reg.URL, "http://")
	pushed := host + "/skiff/testserver:pulled"
	img, err := tarball.ImageFromPath(filepath.Join(framework.Images(t), "testserver.tar"), nil)
	if err != nil {
		t.Fatalf("read the test image: %v", err)
	}
	ref, err := name.ParseReference(pushed, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatalf("push %s: %v", pushed, err)
	}

	// A tarball the kubelet imports at start (--image-preload-dir).
	preload := t.TempDir()
	preloaded := "registry.skiff.local/preloaded:1"
	tag, err := name.NewTag(preloaded)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(filepath.Join(preload, "preloaded.tar"), tag, img); err != nil {
		t.Fatalf("write %s: %v", preloaded, err)
	}

	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a", "--container-restart-backoff", "1s", "--image-preload-dir", preload)
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	pod := func(podName, image, policy string) string {
		return fmt.Sprintf("apiVersion: v1\nkind: Pod\nmetadata: {name: %s}\nspec:\n  containers:\n  - {name: c, image: %q, imagePullPolicy: %s}\n---\n", podName, image, policy)
	}
	cl.apply(t, pod("if-not-present", pushed, "IfNotPresent")+pod("always", pushed, "Always")+pod("preloaded", preloaded, "Never")+
		pod("never", host+"/skiff/absent:1", "Never")+pod("missing", host+"/skiff/absent:1", "IfNotPresent"))

	for _, p := range []string{"if-not-present", "always", "preloaded"} {
		framework.Eventually(t, 90*time.Second, p+" running", func() error {
			got := getPod(t, c, p)
			if got.GetStatus().GetPhase() != "Running" {
				return fmt.Errorf("phase %s: %v", got.GetStatus().GetPhase(), containerStatus(got).GetState())
			}
			if id := containerStatus(got).GetImageId(); id == "" {
				return fmt.Errorf("no imageID")
			}
			return nil
		})
	}
	for p, reason := range map[string]string{"never": "ErrImageNeverPull", "missing": "ImagePullBackOff"} {
		framework.Eventually(t, 60*time.Second, p+" waiting with "+reason, func() error {
			w := containerStatus(getPod(t, c, p)).GetState().GetWaiting()
			if w.GetReason() != reason {
				return fmt.Errorf("waiting %v", w)
			}
			return nil
		})
	}
}
