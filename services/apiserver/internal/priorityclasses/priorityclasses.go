// Package priorityclasses holds what the apiserver fixes about
// scheduling.k8s.io PriorityClasses: the value ranges, the reserved
// "system-" names, and the two system classes it creates at start
// (system-node-critical and system-cluster-critical), as
// kube-apiserver's scheduling/bootstrap-system-priority-classes hook does.
package priorityclasses

import (
	"context"
	"fmt"
	"log/slog"

	metav1 "skiff.dev/api/meta/v1"
	schedulingv1 "skiff.dev/api/scheduling/v1"
	"skiff.dev/services/apiserver/internal/apierrors"
	"skiff.dev/services/apiserver/internal/registry"
)

// Priorities and names, as Kubernetes fixes them.
const (
	// HighestUserDefinablePriority is the highest value of a class whose
	// name lacks the system prefix.
	HighestUserDefinablePriority int32 = 1000000000
	// SystemCriticalPriority is where the system classes' values start.
	SystemCriticalPriority = 2 * HighestUserDefinablePriority
	// SystemPrefix starts the names reserved for the system classes.
	SystemPrefix = "system-"
	// SystemNodeCritical and SystemClusterCritical are the system
	// classes' names.
	SystemNodeCritical    = SystemPrefix + "node-critical"
	SystemClusterCritical = SystemPrefix + "cluster-critical"
	// DefaultPriority is a pod's priority when it names no class and no
	// class is the global default.
	DefaultPriority int32 = 0
	// PreemptLowerPriority and PreemptNever are the preemption policies.
	PreemptLowerPriority = "PreemptLowerPriority"
	PreemptNever         = "Never"
)

// System returns new copies of the system classes.
func System() []*schedulingv1.PriorityClass {
	return []*schedulingv1.PriorityClass{
		class(SystemNodeCritical, SystemCriticalPriority+1000,
			"Used for system critical pods that must not be moved from their current node."),
		class(SystemClusterCritical, SystemCriticalPriority,
			"Used for system critical pods that must run in the cluster, but can be moved to another node if necessary."),
	}
}

func class(name string, value int32, description string) *schedulingv1.PriorityClass {
	return &schedulingv1.PriorityClass{ApiVersion: "scheduling.k8s.io/v1", Kind: "PriorityClass",
		Metadata: &metav1.ObjectMeta{Name: name}, Value: value, Description: description}
}

// CheckSystem says why a class named with the system prefix is not one
// of the system classes (another name, value or globalDefault); nil when
// it is.
func CheckSystem(name string, value int32, globalDefault bool) error {
	for _, sc := range System() {
		if sc.GetMetadata().GetName() != name {
			continue
		}
		if sc.GetValue() != value {
			return fmt.Errorf("value of %s PriorityClass must be %d", name, sc.GetValue())
		}
		if sc.GetGlobalDefault() != globalDefault {
			return fmt.Errorf("globalDefault of %s PriorityClass must be %t", name, sc.GetGlobalDefault())
		}
		return nil
	}
	return fmt.Errorf("%s is not a known system priority class", name)
}

// EnsureSystem creates the system classes that do not exist; one that
// exists is left as it is (its value cannot have changed: validation
// keeps it).
func EnsureSystem(ctx context.Context, classes registry.Backend) error {
	for _, pc := range System() {
		name := pc.GetMetadata().GetName()
		_, err := classes.Get(ctx, "", name, registry.GetOptions{})
		if err == nil {
			continue
		}
		if !apierrors.IsNotFound(err) {
			return fmt.Errorf("get PriorityClass %s: %w", name, err)
		}
		if _, err := classes.Create(ctx, pc, registry.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create PriorityClass %s: %w", name, err)
		}
		slog.InfoContext(ctx, "created PriorityClass", "name", name, "value", pc.GetValue())
	}
	return nil
}
