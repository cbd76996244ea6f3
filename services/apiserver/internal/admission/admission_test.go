package admission

import (
	"context"
	"errors"
	"slices"
	"testing"

	"skiff.dev/services/apiserver/internal/registry"
)

func TestBuild(t *testing.T) {
	var ran []string
	plugin := func(name string) Plugin {
		return Plugin{Name: name, Validate: func(context.Context, *registry.Write) error {
			ran = append(ran, name)
			return nil
		}}
	}
	available := []Plugin{plugin("ValidatingAdmissionWebhook"), plugin("ResourceQuota"), plugin("RuntimeClass"), plugin("NodeRestriction"),
		plugin("MutatingAdmissionWebhook"), plugin("LimitRanger"), plugin("NamespaceLifecycle"), plugin("PodSecurity"), plugin("ServiceAccount"), plugin("Priority"),
		plugin("DefaultIngressClass")}
	tests := []struct {
		name            string
		enable, disable []string
		want            []string
		wantErr         string
	}{
		{name: "defaults, in Kubernetes' order", want: []string{"NamespaceLifecycle", "LimitRanger", "ServiceAccount", "NodeRestriction", "Priority", "RuntimeClass",
			"PodSecurity", "DefaultIngressClass", "MutatingAdmissionWebhook", "ValidatingAdmissionWebhook", "ResourceQuota"}},
		{name: "disable some", disable: []string{"NodeRestriction", "MutatingAdmissionWebhook", "ResourceQuota", "ServiceAccount", "Priority", "DefaultIngressClass"},
			want: []string{"NamespaceLifecycle", "LimitRanger", "RuntimeClass", "PodSecurity", "ValidatingAdmissionWebhook"}},
		{name: "unknown", enable: []string{"AlwaysPullImages"}, wantErr: `unknown admission plugin "AlwaysPullImages" (known: NamespaceLifecycle, LimitRanger, ServiceAccount, NodeRestriction, Priority, DefaultTolerationSeconds, DefaultStorageClass, StorageObjectInUseProtection, PersistentVolumeClaimResize, RuntimeClass, PodSecurity, DefaultIngressClass, MutatingAdmissionWebhook, ValidatingAdmissionWebhook, ResourceQuota)`},
		{name: "both", enable: []string{"RuntimeClass"}, disable: []string{"RuntimeClass"}, wantErr: `admission plugin "RuntimeClass" is both enabled and disabled`},
		{name: "not built", enable: []string{"DefaultTolerationSeconds"}, wantErr: `admission plugin "DefaultTolerationSeconds" is not built yet`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Build(available, tt.enable, tt.disable)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ran = nil
			if err := c.Validate(context.Background(), &registry.Write{}); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ran, tt.want) || !slices.Equal(c.Names(), tt.want) {
				t.Fatalf("ran %v (chain %v), want %v", ran, c.Names(), tt.want)
			}
		})
	}
}

func TestChainStopsAtTheFirstRefusal(t *testing.T) {
	refused := errors.New("no")
	var ran []string
	c := Chain{
		{Name: "a", Mutate: func(context.Context, *registry.Write) error { ran = append(ran, "a"); return refused }},
		{Name: "b", Mutate: func(context.Context, *registry.Write) error { ran = append(ran, "b"); return nil }},
	}
	if err := c.Mutate(context.Background(), &registry.Write{}); !errors.Is(err, refused) || !slices.Equal(ran, []string{"a"}) {
		t.Fatalf("got %v after %v, want the first refusal alone", err, ran)
	}
}
