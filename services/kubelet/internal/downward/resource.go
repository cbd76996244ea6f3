package downward

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

// Allocatable is the node's allocatable cpu, memory and ephemeral-storage:
// the limit the downward API reports for a container that sets none.
type Allocatable map[string]resource.Quantity

// defaultedLimits are the resources whose missing limit is the node's
// allocatable amount (hugepages always have a limit).
var defaultedLimits = []string{"cpu", "memory", "ephemeral-storage"}

// Resource returns a resourceFieldRef's value as Kubernetes computes it:
// the request or limit of the named container (self when the reference
// names none), in units of the divisor (1 when unset), rounded up; cpu is
// divided in millicores.
func Resource(pod *corev1.Pod, self *corev1.Container, ref *corev1.ResourceFieldSelector, node Allocatable) (string, error) {
	c := self
	if name := ref.GetContainerName(); name != "" || c == nil {
		if c = findContainer(pod, name); c == nil {
			return "", fmt.Errorf("container %s not found", name)
		}
	}
	kind, name, ok := strings.Cut(ref.GetResource(), ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("unsupported container resource %q", ref.GetResource())
	}
	if name != "cpu" && name != "memory" && name != "ephemeral-storage" && !strings.HasPrefix(name, "hugepages-") {
		return "", fmt.Errorf("unsupported container resource %q", ref.GetResource())
	}
	list := c.GetResources().GetRequests()
	if kind == "limits" {
		list = c.GetResources().GetLimits()
	}
	amount := parse(list[name])
	if kind == "limits" && amount.IsZero() && slices.Contains(defaultedLimits, name) {
		amount = node[name]
	}
	divisor := parse(ref.GetDivisor())
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	if name == "cpu" {
		return ceilDiv(amount.MilliValue(), divisor.MilliValue()), nil
	}
	return ceilDiv(amount.Value(), divisor.Value()), nil
}

// parse reads a quantity; a missing or malformed one is zero.
func parse(q *metav1.Quantity) resource.Quantity {
	if q == nil {
		return resource.Quantity{}
	}
	v, err := resource.ParseQuantity(q.GetString_())
	if err != nil {
		return resource.Quantity{}
	}
	return v
}

func ceilDiv(a, b int64) string {
	return strconv.FormatInt(int64(math.Ceil(float64(a)/float64(b))), 10)
}

// findContainer looks a container up by name among the pod's containers,
// then its init containers.
func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, c := range pod.GetSpec().GetContainers() {
		if c.GetName() == name {
			return c
		}
	}
	for _, c := range pod.GetSpec().GetInitContainers() {
		if c.GetName() == name {
			return c
		}
	}
	return nil
}
