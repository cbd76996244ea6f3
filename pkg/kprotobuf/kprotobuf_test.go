package kprotobuf

import (
	"bytes"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

func TestRoundTrip(t *testing.T) {
	cm := &corev1.ConfigMap{Kind: "ConfigMap", ApiVersion: "v1",
		Metadata: &metav1.ObjectMeta{Name: "settings", Namespace: "shop"}, Data: map[string]string{"a": "b"}}
	data, err := Encode(cm, "v1", "ConfigMap")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, Magic) {
		t.Fatalf("got prefix %q, want k8s\\x00", data[:4])
	}
	var got corev1.ConfigMap
	av, kind, err := Decode(data, &got)
	if err != nil {
		t.Fatal(err)
	}
	if av != "v1" || kind != "ConfigMap" {
		t.Errorf("got type %s %s, want v1 ConfigMap", av, kind)
	}
	if got.GetKind() != "" {
		t.Errorf("got kind field %q in the raw object, want it only in the envelope", got.GetKind())
	}
	want := proto.Clone(cm).(*corev1.ConfigMap)
	want.Kind, want.ApiVersion = "", ""
	if !proto.Equal(want, &got) {
		t.Errorf("got %v, want %v", &got, want)
	}
	if cm.GetKind() != "ConfigMap" {
		t.Error("Encode must not change its argument")
	}
}

func TestDecodeRefusesOtherData(t *testing.T) {
	if _, _, err := Decode([]byte(`{"kind":"Pod"}`), &corev1.Pod{}); !errors.Is(err, ErrNoMagic) {
		t.Errorf("got %v, want ErrNoMagic", err)
	}
	if _, _, err := Decode(append(append([]byte{}, Magic...), 0xff, 0xff), &corev1.Pod{}); err == nil {
		t.Error("got nil for a broken envelope, want an error")
	}
}
