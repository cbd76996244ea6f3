package plugins

import (
	"context"
	"slices"
	"strings"

	corev1 "skiff.dev/api/core/v1"
	"skiff.dev/services/scheduler/internal/framework"
)

// NameImageLocality is the plugin's name.
const NameImageLocality = "ImageLocality"

// ImageLocality prefers nodes that already have the pod's images, by
// their size.
type ImageLocality struct{}

var _ framework.ScorePlugin = ImageLocality{}

// Name of the plugin.
func (ImageLocality) Name() string { return NameImageLocality }

const (
	minImageBytes = 23 << 20
	maxImageBytes = 1000 << 20
)

// Score scales the size of the images present between 23 MiB (0) and
// 1000 MiB per container (100).
func (ImageLocality) Score(_ context.Context, _ *framework.CycleState, pod *corev1.Pod, n *framework.NodeInfo) (int64, *framework.Status) {
	var sum int64
	containers := pod.GetSpec().GetContainers()
	for _, c := range containers {
		want := normalizeImage(c.GetImage())
		for _, img := range n.Node.GetStatus().GetImages() {
			if slices.ContainsFunc(img.GetNames(), func(name string) bool { return normalizeImage(name) == want }) {
				sum += img.GetSizeBytes()
				break
			}
		}
	}
	hi := int64(maxImageBytes) * int64(max(len(containers), 1))
	switch {
	case sum < minImageBytes:
		return 0, nil
	case sum > hi:
		return framework.MaxNodeScore, nil
	}
	return framework.MaxNodeScore * (sum - minImageBytes) / (hi - minImageBytes), nil
}

// normalizeImage adds the tag Kubernetes assumes: "nginx" is "nginx:latest".
func normalizeImage(image string) string {
	name := image[strings.LastIndex(image, "/")+1:]
	if !strings.Contains(name, ":") && !strings.Contains(name, "@") {
		return image + ":latest"
	}
	return image
}
