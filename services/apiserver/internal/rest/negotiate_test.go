package rest

import (
	"testing"

	"skiff.dev/services/apiserver/internal/registry"
)

func TestNegotiate(t *testing.T) {
	tests := []struct {
		accept string
		want   encoding
		ok     bool
	}{
		{"", encoding{mediaType: mediaJSON}, true},
		{"application/json", encoding{mediaType: mediaJSON}, true},
		{"*/*", encoding{mediaType: mediaJSON}, true},
		{"application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json",
			encoding{mediaType: mediaJSON, as: "Table"}, true},
		{"application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", encoding{mediaType: mediaJSON}, true},
		{"application/vnd.kubernetes.protobuf,application/json", encoding{mediaType: mediaProtobuf}, true},
		{"application/yaml", encoding{mediaType: mediaYAML}, true},
		{"application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io", encoding{mediaType: mediaJSON, as: "PartialObjectMetadataList"}, true},
		{"text/html", encoding{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			got, ok := negotiate(tt.accept, true)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestNegotiateWithoutTable: where no Table can be made, as=Table entries
// are passed over, and an Accept of only them is refused.
func TestNegotiateWithoutTable(t *testing.T) {
	tests := []struct {
		accept string
		want   encoding
		ok     bool
	}{
		{"application/json;as=Table;v=v1;g=meta.k8s.io", encoding{}, false},
		{"application/json;as=Table;v=v1;g=meta.k8s.io,application/json", encoding{mediaType: mediaJSON}, true},
		{"application/yaml;as=Table;v=v1;g=meta.k8s.io,application/vnd.kubernetes.protobuf", encoding{mediaType: mediaProtobuf}, true},
		{"application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io", encoding{mediaType: mediaJSON, as: "PartialObjectMetadata"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.accept, func(t *testing.T) {
			got, ok := negotiate(tt.accept, false)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestAcceptsAnswer(t *testing.T) {
	pods := &registry.Resource{Plural: "pods"}
	review := &registry.Resource{Plural: "selfsubjectreviews", NoTable: true}
	const table = "application/json;as=Table;v=v1;g=meta.k8s.io"
	tests := []struct {
		name   string
		accept string
		res    *registry.Resource
		sub    string
		want   bool
	}{
		{"a pod prints", table, pods, "", true},
		{"a pod's status prints", table, pods, "status", true},
		{"a review does not print", table, review, "", false},
		{"a review falls back", table + ",application/json", review, "", true},
		{"a binding does not print", table, pods, "binding", false},
		{"a log does not print", table, pods, "log", false},
		{"a log is text", "text/plain", pods, "log", true},
		{"exec is not negotiated", table, pods, "exec", true},
		{"HTML is refused", "text/html", pods, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := acceptsAnswer(tt.accept, tt.res, tt.sub); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
