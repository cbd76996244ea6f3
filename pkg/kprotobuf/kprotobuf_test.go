package kprotobuf

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

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

// TestDecodeReadsEmptyTimesAsUnset: Kubernetes writes a zero Time or
// MicroTime as an empty message; it must read back unset, wherever it is.
func TestDecodeReadsEmptyTimesAsUnset(t *testing.T) {
	set := timestamppb.New(time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC))
	ev := &corev1.Event{Metadata: &metav1.ObjectMeta{Name: "e", CreationTimestamp: set},
		EventTime: &timestamppb.Timestamp{}, FirstTimestamp: &timestamppb.Timestamp{}, LastTimestamp: set,
		Series: &corev1.EventSeries{LastObservedTime: &timestamppb.Timestamp{}}}
	pod := &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p"}, Status: &corev1.PodStatus{
		Conditions: []*corev1.PodCondition{{Type: "Ready", LastProbeTime: &timestamppb.Timestamp{}, LastTransitionTime: set}}}}
	cases := []struct {
		name      string
		in, wantM proto.Message
	}{
		{"event", ev, &corev1.Event{Metadata: &metav1.ObjectMeta{Name: "e", CreationTimestamp: set}, LastTimestamp: set,
			Series: &corev1.EventSeries{}}},
		{"list element", pod, &corev1.Pod{Metadata: &metav1.ObjectMeta{Name: "p"}, Status: &corev1.PodStatus{
			Conditions: []*corev1.PodCondition{{Type: "Ready", LastTransitionTime: set}}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data, err := Encode(c.in, "v1", "X")
			if err != nil {
				t.Fatal(err)
			}
			got := c.in.ProtoReflect().New().Interface()
			if _, _, err := Decode(data, got); err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(got, c.wantM) {
				t.Errorf("got %v, want %v", got, c.wantM)
			}
		})
	}
}
