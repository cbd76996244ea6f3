package printers

import (
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	appsv1 "skiff.dev/api/apps/v1"
	batchv1 "skiff.dev/api/batch/v1"
	coordinationv1 "skiff.dev/api/coordination/v1"
	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
	rbacv1 "skiff.dev/api/rbac/v1"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

func meta(name string) *metav1.ObjectMeta {
	return &metav1.ObjectMeta{Name: name, CreationTimestamp: timestamppb.New(now.Add(-5 * time.Minute))}
}

func TestEveryKindHasOneCellPerColumn(t *testing.T) {
	for _, tc := range []struct {
		group, kind string
		obj         proto.Message
	}{
		{"", "Pod", &corev1.Pod{Metadata: meta("p")}},
		{"", "Namespace", &corev1.Namespace{Metadata: meta("n")}},
		{"", "Node", &corev1.Node{Metadata: meta("n")}},
		{"", "Service", &corev1.Service{Metadata: meta("s")}},
		{"", "Endpoints", &corev1.Endpoints{Metadata: meta("e")}},
		{"", "ConfigMap", &corev1.ConfigMap{Metadata: meta("c")}},
		{"", "Secret", &corev1.Secret{Metadata: meta("s")}},
		{"", "ServiceAccount", &corev1.ServiceAccount{Metadata: meta("s")}},
		{"", "Event", &corev1.Event{Metadata: meta("e")}},
		{"apps", "Deployment", &appsv1.Deployment{Metadata: meta("d")}},
		{"apps", "ReplicaSet", &appsv1.ReplicaSet{Metadata: meta("r")}},
		{"", "ReplicationController", &corev1.ReplicationController{Metadata: meta("r")}},
		{"batch", "CronJob", &batchv1.CronJob{Metadata: meta("c")}},
		{"coordination.k8s.io", "Lease", &coordinationv1.Lease{Metadata: meta("l")}},
		{"rbac.authorization.k8s.io", "Role", &rbacv1.Role{Metadata: meta("r")}},
		{"rbac.authorization.k8s.io", "ClusterRole", &rbacv1.ClusterRole{Metadata: meta("c")}},
		{"rbac.authorization.k8s.io", "RoleBinding", &rbacv1.RoleBinding{Metadata: meta("r")}},
		{"rbac.authorization.k8s.io", "ClusterRoleBinding", &rbacv1.ClusterRoleBinding{Metadata: meta("c")}},
	} {
		p := For(tc.group, tc.kind)
		if p == defaultPrinter {
			t.Errorf("%s has no printer", tc.kind)
			continue
		}
		if got := len(p.Cells(tc.obj, now)); got != len(p.Columns) {
			t.Errorf("%s: %d cells for %d columns", tc.kind, got, len(p.Columns))
		}
	}
}

func TestPodStatusColumns(t *testing.T) {
	running := &corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	for _, tc := range []struct {
		name                   string
		pod                    *corev1.Pod
		ready, status, restart string
	}{
		{"pending", &corev1.Pod{Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "a"}}},
			Status: &corev1.PodStatus{Phase: "Pending"}}, "0/1", "Pending", "0"},
		{"running", &corev1.Pod{Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "a"}, {Name: "b"}}},
			Status: &corev1.PodStatus{Phase: "Running", ContainerStatuses: []*corev1.ContainerStatus{
				{Name: "a", Ready: true, State: running}, {Name: "b", Ready: false, State: running}}}}, "1/2", "Running", "0"},
		{"crashloop", &corev1.Pod{Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "a"}}},
			Status: &corev1.PodStatus{Phase: "Running", ContainerStatuses: []*corev1.ContainerStatus{{Name: "a", RestartCount: 3,
				State:     &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
				LastState: &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: timestamppb.New(now.Add(-2 * time.Minute))}}}}}},
			"0/1", "CrashLoopBackOff", "3 (2m ago)"},
		{"init", &corev1.Pod{Spec: &corev1.PodSpec{InitContainers: []*corev1.Container{{Name: "i"}}, Containers: []*corev1.Container{{Name: "a"}}},
			Status: &corev1.PodStatus{Phase: "Pending", InitContainerStatuses: []*corev1.ContainerStatus{{Name: "i", State: running}}}},
			"0/1", "Init:0/1", "0"},
		{"terminating", &corev1.Pod{Metadata: &metav1.ObjectMeta{DeletionTimestamp: timestamppb.New(now)},
			Spec: &corev1.PodSpec{Containers: []*corev1.Container{{Name: "a"}}}, Status: &corev1.PodStatus{Phase: "Running"}},
			"0/1", "Terminating", "0"},
	} {
		cells := podCells(tc.pod, now)
		if cells[1] != tc.ready || cells[2] != tc.status || cells[3] != tc.restart {
			t.Errorf("%s: got %v %v %v, want %s %s %s", tc.name, cells[1], cells[2], cells[3], tc.ready, tc.status, tc.restart)
		}
		if cells[5] != "<none>" || cells[6] != "<none>" {
			t.Errorf("%s: IP/node %v %v, want <none>", tc.name, cells[5], cells[6])
		}
	}
}

func TestServiceColumns(t *testing.T) {
	s := &corev1.Service{Metadata: meta("web"), Spec: &corev1.ServiceSpec{Type: "LoadBalancer", ClusterIp: "10.0.0.7",
		Selector: map[string]string{"tier": "front", "app": "web"},
		Ports:    []*corev1.ServicePort{{Port: 80, NodePort: 30080, Protocol: "TCP"}, {Port: 53, Protocol: "UDP"}}}}
	cells := serviceCells(s, now)
	want := []any{"web", "LoadBalancer", "10.0.0.7", "<pending>", "80:30080/TCP,53/UDP", "5m", "app=web,tier=front"}
	for i := range want {
		if cells[i] != want[i] {
			t.Errorf("cell %d: got %v want %v", i, cells[i], want[i])
		}
	}
}

func TestNodeAndDeploymentColumns(t *testing.T) {
	n := &corev1.Node{Metadata: &metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"node-role.kubernetes.io/control-plane": ""}},
		Spec:   &corev1.NodeSpec{Unschedulable: true},
		Status: &corev1.NodeStatus{Conditions: []*corev1.NodeCondition{{Type: "Ready", Status: "True"}}}}
	cells := nodeCells(n, now)
	if cells[1] != "Ready,SchedulingDisabled" || cells[2] != "control-plane" {
		t.Errorf("node: %v", cells)
	}
	d := &appsv1.Deployment{Metadata: meta("web"), Spec: &appsv1.DeploymentSpec{Replicas: proto.Int32(3),
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"},
			MatchExpressions: []*metav1.LabelSelectorRequirement{{Key: "tier", Operator: "In", Values: []string{"a", "b"}}}}},
		Status: &appsv1.DeploymentStatus{ReadyReplicas: 2, UpdatedReplicas: 3, AvailableReplicas: 2}}
	cells = For("apps", "Deployment").Cells(d, now)
	if cells[1] != "2/3" || cells[2] != int64(3) || cells[3] != int64(2) || cells[7] != "app=web,tier in (a,b)" {
		t.Errorf("deployment: %v", cells)
	}
}

func TestRBACColumns(t *testing.T) {
	subjects := []*rbacv1.Subject{
		{Kind: "User", Name: "alice"}, {Kind: "Group", Name: "devs"}, {Kind: "User", Name: "bob"},
		{Kind: "ServiceAccount", Namespace: "kube-system", Name: "ci"}, {Kind: "Robot", Name: "r2"},
	}
	for _, tc := range []struct {
		kind string
		obj  proto.Message
		want []any
	}{
		{"Role", &rbacv1.Role{Metadata: meta("reader")}, []any{"reader", "2026-11-22T11:55:00Z"}},
		{"ClusterRole", &rbacv1.ClusterRole{Metadata: meta("system:reader")}, []any{"system:reader", "2026-11-22T11:55:00Z"}},
		{"RoleBinding", &rbacv1.RoleBinding{Metadata: meta("read"), RoleRef: &rbacv1.RoleRef{Kind: "Role", Name: "reader"}, Subjects: subjects},
			[]any{"read", "Role/reader", "5m", "alice, bob", "devs", "kube-system/ci"}},
		{"ClusterRoleBinding", &rbacv1.ClusterRoleBinding{Metadata: meta("read"), RoleRef: &rbacv1.RoleRef{Kind: "ClusterRole", Name: "view"}},
			[]any{"read", "ClusterRole/view", "5m", "", "", ""}},
	} {
		p := For("rbac.authorization.k8s.io", tc.kind)
		got := p.Cells(tc.obj, now)
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %q, want %q", tc.kind, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: got %q, want %q", tc.kind, got, tc.want)
				break
			}
		}
	}
}
