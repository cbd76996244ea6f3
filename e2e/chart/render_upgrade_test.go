package chart

import (
	"maps"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	policyv1 "k8s.io/api/policy/v1"
)

// TestRenderClaimLabelsNeverChange: the etcd claim template carries only
// the selector's labels, none that changes with the chart's version or
// appVersion, since an upgrade can't change a StatefulSet's claim
// templates.
func TestRenderClaimLabelsNeverChange(t *testing.T) {
	sts := decode[appsv1.StatefulSet](t, objects(t, render(t)), "StatefulSet")["hosted-skiff-etcd"]
	if sts == nil || len(sts.Spec.VolumeClaimTemplates) != 1 {
		t.Fatalf("etcd StatefulSet with one claim template: %+v", sts)
	}
	got := sts.Spec.VolumeClaimTemplates[0].Labels
	if !maps.Equal(got, sts.Spec.Selector.MatchLabels) {
		t.Errorf("claim template labels %v, want exactly the selector's %v", got, sts.Spec.Selector.MatchLabels)
	}
}

// TestRenderEtcdBudgetKeepsQuorum: the etcd budget lets evictions take
// no more members than a quorum of the rest spares, by default and when
// set; more is refused.
func TestRenderEtcdBudgetKeepsQuorum(t *testing.T) {
	for replicas, want := range map[string]int32{"1": 0, "3": 1, "5": 2} {
		pdb := decode[policyv1.PodDisruptionBudget](t, objects(t, render(t, "--set", "etcd.replicas="+replicas)), "PodDisruptionBudget")["hosted-skiff-etcd"]
		if pdb == nil || pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntVal != want {
			t.Errorf("%s members: budget %+v, want maxUnavailable %d", replicas, pdb, want)
		}
	}
	out, err := helm(t, "", "template", "hosted", chartDir(), "--set", "etcd.podDisruptionBudget.maxUnavailable=2")
	if err == nil || !strings.Contains(out, "would let evictions break the quorum of 3 members; at most 1") {
		t.Errorf("maxUnavailable 2 of 3 members: %v\n%s\nwant it refused", err, out)
	}
}

// TestRenderExternalURLHosts: the host of externalURL, an IPv6 address
// in brackets included, goes into the serving certificate; a URL the
// chart can't take apart is refused by the schema.
func TestRenderExternalURLHosts(t *testing.T) {
	for url, want := range map[string]string{
		"https://[fd00::1]:6443":   "fd00::1",
		"https://[fd00::1]":        "fd00::1",
		"https://skiff.example:30": "skiff.example",
		"https://192.0.2.7":        "192.0.2.7",
	} {
		job := decode[batchv1.Job](t, objects(t, render(t, "--set", "apiserver.externalURL="+url)), "Job")["hosted-skiff-pki-generate"]
		if args := job.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--apiserver-hosts="+want) {
			t.Errorf("externalURL %s: PKI Job args %v, want --apiserver-hosts=%s", url, args, want)
		}
	}
	for _, url := range []string{"https://a:b:c", "https://[fd00::1", "https://host/path"} {
		if out, err := helm(t, "", "template", "hosted", chartDir(), "--set", "apiserver.externalURL="+url); err == nil {
			t.Errorf("externalURL %s rendered:\n%s", url, out)
		}
	}
}

// TestRenderCloudConfigRollsPods: a changed cloud configuration changes
// the cloud-controller's pod template, so an upgrade restarts it (it
// reads --cloud-config at start only).
func TestRenderCloudConfigRollsPods(t *testing.T) {
	checksum := func(args ...string) string {
		d := decode[appsv1.Deployment](t, objects(t, render(t, args...)), "Deployment")["hosted-skiff-cloud-controller"]
		return d.Spec.Template.Annotations["checksum/cloud-config"]
	}
	a, b := checksum(), checksum("--set", "cloudController.cloudConfig.zone=other")
	if a == "" || a == b {
		t.Errorf("checksum/cloud-config %q, then %q after a change; want two different ones", a, b)
	}
}

// TestRenderPKIInstance: the PKI Job labels the Secrets it makes with the
// release's name, as the chart labels its own objects.
func TestRenderPKIInstance(t *testing.T) {
	job := decode[batchv1.Job](t, objects(t, render(t)), "Job")["hosted-skiff-pki-generate"]
	if args := job.Spec.Template.Spec.Containers[0].Args; !slices.Contains(args, "--instance=hosted") {
		t.Errorf("PKI Job args %v, want --instance=hosted", args)
	}
}

// TestRenderAPIServerShutdownDelay: an apiserver pod that is stopped
// keeps serving while its endpoint goes away, and its grace period
// covers that delay and the wait for requests in flight.
func TestRenderAPIServerShutdownDelay(t *testing.T) {
	d := decode[appsv1.Deployment](t, objects(t, render(t)), "Deployment")["hosted-skiff-apiserver"]
	args := d.Spec.Template.Spec.Containers[0].Args
	if !slices.Contains(args, "--shutdown-delay-duration=5s") || !slices.Contains(args, "--shutdown-timeout=20s") {
		t.Errorf("apiserver args %v, want a shutdown delay of 5s and a timeout of 20s", args)
	}
	if g := d.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || *g < 25 {
		t.Errorf("terminationGracePeriodSeconds %v, want at least 5s+20s", g)
	}
}
