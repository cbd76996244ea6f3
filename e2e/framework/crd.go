package framework

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
)

// CRDs is the customresourcedefinitions resource.
var CRDs = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// CreateCRD creates a CustomResourceDefinition and waits until it is
// Established.
func CreateCRD(ctx context.Context, t testing.TB, dyn dynamic.Interface, crd *unstructured.Unstructured) {
	t.Helper()
	if _, err := dyn.Resource(CRDs).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create the CRD %s: %v", crd.GetName(), err)
	}
	Eventually(t, 30*time.Second, crd.GetName()+" is Established", func() error {
		return Established(ctx, dyn, crd.GetName())
	})
}

// Established is nil once the named CRD has the Established condition.
func Established(ctx context.Context, dyn dynamic.Interface, name string) error {
	got, err := dyn.Resource(CRDs).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
	for _, c := range conds {
		if c, ok := c.(map[string]any); ok && c["type"] == "Established" && c["status"] == "True" {
			return nil
		}
	}
	return fmt.Errorf("conditions %v", conds)
}
