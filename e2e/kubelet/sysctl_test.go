package kubelet

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	k8scorev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"skiff.dev/e2e/framework"
)

// sysctlPod is a pod that prints the given /proc/sys files and ends.
func sysctlPod(name string, sysctls map[string]string, files ...string) *k8scorev1.Pod {
	sc := &k8scorev1.PodSecurityContext{}
	for k, v := range sysctls {
		sc.Sysctls = append(sc.Sysctls, k8scorev1.Sysctl{Name: k, Value: v})
	}
	return &k8scorev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: k8scorev1.PodSpec{
		RestartPolicy: k8scorev1.RestartPolicyNever, SecurityContext: sc,
		Containers: []k8scorev1.Container{{Name: "c", Image: "registry.skiff.local/testserver:1.0", Command: append([]string{"cat"}, files...)}},
	}}
}

// TestSysctls: a pod's safe sysctls (also written with slashes) and the
// unsafe ones the kubelet allows are set in its sandbox; a pod with a
// sysctl the kubelet does not allow is rejected, Failed with
// SysctlForbidden, and never started; the apiserver refuses invalid
// names. The pods go through client-go's protobuf, so the field is
// Kubernetes' on the wire.
func TestSysctls(t *testing.T) {
	cl := startCluster(t)
	framework.StartKubelet(t, cl.srv, cl.ctd, "node-a", "--allowed-unsafe-sysctls", "kernel.msg*")
	c := cl.srv.Client()
	framework.WaitNodeReady(t, c, "node-a")
	cfg := cl.srv.RESTConfig()
	cfg.ContentType = "application/vnd.kubernetes.protobuf"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	pods := cs.CoreV1().Pods("default")
	for _, p := range []*k8scorev1.Pod{
		sysctlPod("sysctl-safe", map[string]string{"kernel.shm_rmid_forced": "1", "net/ipv4/ip_local_port_range": "1024 65000"},
			"/proc/sys/kernel/shm_rmid_forced", "/proc/sys/net/ipv4/ip_local_port_range"),
		sysctlPod("sysctl-allowed", map[string]string{"kernel.msgmax": "10000"}, "/proc/sys/kernel/msgmax"),
		sysctlPod("sysctl-forbidden", map[string]string{"kernel.shm_rmid_forced": "1", "kernel.sem": "250 32000 100 128"}, "/proc/sys/kernel/sem"),
	} {
		if _, err := pods.Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod %s: %v", p.Name, err)
		}
	}
	for name, want := range map[string]string{"sysctl-safe": "1\n1024\t65000\n", "sysctl-allowed": "10000\n"} {
		framework.Eventually(t, 60*time.Second, name+" Succeeded", func() error {
			if p := getPod(t, c, name); p.GetStatus().GetPhase() != "Succeeded" {
				return fmt.Errorf("phase %s %s: %v", p.GetStatus().GetPhase(), p.GetStatus().GetMessage(), containerStatus(p).GetState())
			}
			return nil
		})
		if out, err := framework.Kubectl(t, cl.srv.Kubeconfig(), "", "logs", name); err != nil || out != want {
			t.Errorf("%s printed %q (%v), want %q", name, out, err, want)
		}
	}
	framework.Eventually(t, 30*time.Second, "sysctl-forbidden rejected", func() error {
		st := getPod(t, c, "sysctl-forbidden").GetStatus()
		if want := `Pod was rejected: forbidden sysctl: "kernel.sem" not allowlisted`; st.GetPhase() != "Failed" ||
			st.GetReason() != "SysctlForbidden" || st.GetMessage() != want {
			return fmt.Errorf("phase %s reason %q message %q; want Failed, SysctlForbidden, %q", st.GetPhase(), st.GetReason(), st.GetMessage(), want)
		}
		return nil
	})
	if n := len(sandboxesOf(t, cl.ctd, getPod(t, c, "sysctl-forbidden").GetMetadata().GetUid())); n != 0 {
		t.Errorf("the rejected pod has %d sandboxes, want none", n)
	}
	waitEvents(t, cl.srv.Client(), "involvedObject.name=sysctl-forbidden", "SysctlForbidden")

	invalid := sysctlPod("sysctl-invalid", map[string]string{"foo-": "bar", "kernel.shmmax": "100000000", "safe-and-unsafe": "100000000", "bar..": "42"})
	_, err = pods.Create(ctx, invalid, metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), `Invalid value: "foo-"`) || !strings.Contains(err.Error(), `Invalid value: "bar.."`) ||
		strings.Contains(err.Error(), "safe-and-unsafe") || strings.Contains(err.Error(), "kernel.shmmax") {
		t.Errorf("create a pod with invalid sysctl names: %v; want foo- and bar.. refused, nothing else", err)
	}
}
