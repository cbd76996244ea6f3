package controllermanager

import (
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "skiff.dev/api/apps/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	"skiff.dev/e2e/framework"
	"skiff.dev/pkg/client"
)

// replicaSetsByImage are the prop Deployment's ReplicaSets by the image of
// their template.
func (c *cluster) replicaSetsByImage() map[string]*appsv1.ReplicaSet {
	c.t.Helper()
	list, err := c.c.AppsV1().ReplicaSets("default").List(c.ctx, client.ListOptions{LabelSelector: "app=prop"})
	if err != nil {
		c.t.Fatal(err)
	}
	out := map[string]*appsv1.ReplicaSet{}
	for _, rs := range list.GetItems() {
		out[rs.GetSpec().GetTemplate().GetSpec().GetContainers()[0].GetImage()] = rs
	}
	return out
}

// waitSizes waits until the ReplicaSets of v1 and v2 have these replicas
// and were scaled for the Deployment's replicas (the annotations).
func (c *cluster) waitSizes(what string, v1, v2, replicas, maxReplicas int32) {
	c.t.Helper()
	framework.Eventually(c.t, 90*time.Second, what, func() error {
		rss := c.replicaSetsByImage()
		old, cur := rss["registry.local/prop:v1"], rss["registry.local/prop:v2"]
		if old == nil || cur == nil {
			return fmt.Errorf("%d replica sets", len(rss))
		}
		if old.GetSpec().GetReplicas() != v1 || cur.GetSpec().GetReplicas() != v2 {
			return fmt.Errorf("v1 %d, v2 %d replicas; want %d and %d", old.GetSpec().GetReplicas(), cur.GetSpec().GetReplicas(), v1, v2)
		}
		for _, rs := range []*appsv1.ReplicaSet{old, cur} {
			ann := rs.GetMetadata().GetAnnotations()
			if ann["deployment.kubernetes.io/desired-replicas"] != fmt.Sprint(replicas) || ann["deployment.kubernetes.io/max-replicas"] != fmt.Sprint(maxReplicas) {
				return fmt.Errorf("%s annotations %v", rs.GetMetadata().GetName(), ann)
			}
		}
		return nil
	})
}

// TestDeploymentProportionalScaling is Kubernetes' e2e "deployment should
// support proportional scaling": a rollout held up by new pods that never
// become available (they fit no node) stops at 8 old and 5 new pods
// (replicas 10, maxSurge 3, maxUnavailable 2). Scaled to 15, the 5 more
// pods its largest size grows by are spread 3 to the old ReplicaSet and 2
// to the new one; paused and scaled to 20, again in proportion.
func TestDeploymentProportionalScaling(t *testing.T) {
	c := startCluster(t)
	replicas := int32(10)
	labels := map[string]string{"app": "prop"}
	d := &appsv1.Deployment{Metadata: &metav1.ObjectMeta{Name: "prop", Namespace: "default"},
		Spec: &appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Strategy: &appsv1.DeploymentStrategy{Type: "RollingUpdate", RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxSurge: &metav1.IntOrString{IntVal: 3}, MaxUnavailable: &metav1.IntOrString{IntVal: 2}}},
			Template: &corev1.PodTemplateSpec{Metadata: &metav1.ObjectMeta{Labels: labels},
				Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "web", Image: "registry.local/prop:v1"}}}}}}
	deployments := c.c.AppsV1().Deployments("default")
	if _, err := deployments.Create(c.ctx, d, client.WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	framework.Eventually(t, 90*time.Second, "10 pods available", func() error {
		got, err := deployments.Get(c.ctx, "prop")
		if err != nil {
			return err
		}
		if got.GetStatus().GetAvailableReplicas() != 10 || got.GetStatus().GetUpdatedReplicas() != 10 {
			return fmt.Errorf("status %v", got.GetStatus())
		}
		return nil
	})

	// The new pods fit no node: the rollout stops at 10-2 old, 13-8 new.
	framework.Eventually(t, 30*time.Second, "the template changes", func() error {
		cur, err := deployments.Get(c.ctx, "prop")
		if err != nil {
			return err
		}
		cur.Spec.Template.Spec.Containers[0].Image = "registry.local/prop:v2"
		cur.Spec.Template.Spec.NodeSelector = map[string]string{"skiff.dev/nowhere": "true"}
		_, err = deployments.Update(c.ctx, cur, client.WriteOptions{})
		return err
	})
	c.waitSizes("the rollout stops at 8 old and 5 new", 8, 5, 10, 13)

	// Scaled to 15: 18 = 13 + 5; old 8*18/13 = 11, new 5*18/13 = 7.
	framework.Eventually(t, 30*time.Second, "the scale subresource takes 15", func() error {
		scale, err := deployments.GetScale(c.ctx, "prop")
		if err != nil {
			return err
		}
		scale.Spec.Replicas = 15
		_, err = deployments.UpdateScale(c.ctx, scale, client.WriteOptions{}) // a conflict with the controller's write is tried again
		return err
	})
	c.waitSizes("scaled proportionally to 15", 11, 7, 15, 18)

	// Paused, scaled to 20: 23 = 18 + 5; old 11*23/18 = 14, new 7*23/18 = 9.
	c.kubectl("", "rollout", "pause", "deployment/prop")
	c.kubectl("", "scale", "deployment/prop", "--replicas=20")
	c.waitSizes("paused, scaled proportionally to 20", 14, 9, 20, 23)
	framework.Eventually(t, 30*time.Second, "the events say how the sets were scaled", func() error {
		out := c.kubectl("", "get", "events", "--field-selector", "involvedObject.name=prop,reason=ScalingReplicaSet", "-o", "jsonpath={.items[*].message}")
		for _, want := range []string{" to 11", " to 7", " to 14", " to 9"} {
			if !strings.Contains(out, want) {
				return fmt.Errorf("no event %q in %s", want, out)
			}
		}
		return nil
	})
}
