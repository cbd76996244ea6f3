package kjson

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	corev1 "skiff.dev/api/core/v1"
	metav1 "skiff.dev/api/meta/v1"
)

const podYAML = `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: shop
  labels: {app: web}
  creationTimestamp: "2026-11-22T15:04:05Z"
  deletionGracePeriodSeconds: 0
spec:
  terminationGracePeriodSeconds: 30
  hostPID: true
  containers:
  - name: web
    image: nginx:1.27
    ports: [{containerPort: 80, name: http}]
    resources:
      limits: {cpu: 1, memory: 128Mi}
      requests: {cpu: 0.5}
    livenessProbe:
      httpGet: {path: /healthz, port: http}
      periodSeconds: 10
    readinessProbe:
      tcpSocket: {port: 8080}
    env:
    - name: KEY
      valueFrom:
        configMapKeyRef: {name: settings, key: color}
  volumes:
  - name: cache
    emptyDir: {}
  - name: cfg
    configMap: {name: settings, defaultMode: 420}
status:
  podIP: 10.0.0.5
`

func TestPodYAMLRoundTrip(t *testing.T) {
	var pod corev1.Pod
	if err := UnmarshalYAML([]byte(podYAML), &pod, Strict()); err != nil {
		t.Fatalf("decode: %v", err)
	}
	c := pod.GetSpec().GetContainers()[0]
	checks := []struct {
		name      string
		got, want any
	}{
		{"kind", pod.GetKind(), "Pod"},
		{"optional zero kept", pod.GetMetadata().DeletionGracePeriodSeconds != nil, true},
		{"hostPID json name", pod.GetSpec().GetHostPid(), true},
		{"quantity from number", c.GetResources().GetLimits()["cpu"].GetString_(), "1"},
		{"quantity from float", c.GetResources().GetRequests()["cpu"].GetString_(), "0.5"},
		{"quantity from string", c.GetResources().GetLimits()["memory"].GetString_(), "128Mi"},
		{"int-or-string string", c.GetLivenessProbe().GetHandler().GetHttpGet().GetPort().GetStrVal(), "http"},
		{"int-or-string int", c.GetReadinessProbe().GetHandler().GetTcpSocket().GetPort().GetIntVal(), int32(8080)},
		{"inline local object reference", c.GetEnv()[0].GetValueFrom().GetConfigMapKeyRef().GetLocalObjectReference().GetName(), "settings"},
		{"inline volume source", pod.GetSpec().GetVolumes()[1].GetVolumeSource().GetConfigMap().GetDefaultMode(), int32(420)},
		{"empty object kept", pod.GetSpec().GetVolumes()[0].GetVolumeSource().GetEmptyDir() != nil, true},
		{"timestamp", pod.GetMetadata().GetCreationTimestamp().AsTime().Equal(time.Date(2026, 11, 22, 15, 4, 5, 0, time.UTC)), true},
		{"podIP", pod.GetStatus().GetPodIp(), "10.0.0.5"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, c.got, c.want)
		}
	}
	data, err := Marshal(&pod)
	if err != nil {
		t.Fatalf("encode: %v", err)
	}
	js := string(data)
	for _, want := range []string{
		`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"web"`,
		`"deletionGracePeriodSeconds":0`, `"creationTimestamp":"2026-11-22T15:04:05Z"`,
		`"terminationGracePeriodSeconds":30`, `"hostPID":true`,
		`"limits":{"cpu":"1","memory":"128Mi"}`, `"port":"http"`, `"port":8080`,
		`"configMapKeyRef":{"name":"settings","key":"color"}`,
		`{"name":"cache","emptyDir":{}}`, `"podIP":"10.0.0.5"`,
	} {
		if !strings.Contains(js, want) {
			t.Errorf("encoded pod: got\n%s\nwant it to contain %s", js, want)
		}
	}
	var again corev1.Pod
	if err := Unmarshal(data, &again, Strict()); err != nil {
		t.Fatalf("decode again: %v", err)
	}
	if !proto.Equal(&pod, &again) {
		t.Errorf("round trip changed the pod:\n%v\n%v", &pod, &again)
	}
}

func TestStrictReportsUnknownAndDuplicateFields(t *testing.T) {
	in := `{"kind":"Pod","metadata":{"name":"a","name":"b"},"spec":{"containers":[{"name":"c","imagee":"x"}]},"bogus":1}`
	var pod corev1.Pod
	err := Unmarshal([]byte(in), &pod, Strict())
	var strict *StrictError
	if !errors.As(err, &strict) {
		t.Fatalf("got %v, want a StrictError", err)
	}
	want := []string{`duplicate field "metadata.name"`, `unknown field "spec.containers[0].imagee"`, `unknown field "bogus"`}
	if strings.Join(strict.Problems, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", strict.Problems, want)
	}
	if pod.GetMetadata().GetName() != "b" || pod.GetSpec().GetContainers()[0].GetName() != "c" {
		t.Errorf("strict decode must still decode the known fields, got %v", &pod)
	}
	if err := Unmarshal([]byte(in), &pod); err != nil {
		t.Errorf("lenient decode: got %v, want nil", err)
	}
}

func TestTypeErrorsNameTheField(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{`{"spec":{"terminationGracePeriodSeconds":"x"}}`, `spec.terminationGracePeriodSeconds: expected an integer, got string "x"`},
		{`{"spec":{"containers":{}}}`, `spec.containers: expected an array, got an object`},
		{`{"spec":{"hostNetwork":1}}`, `spec.hostNetwork: expected a boolean, got number 1`},
		{`{"metadata":{"creationTimestamp":"yesterday"}}`, `metadata.creationTimestamp: invalid time "yesterday"`},
		{`[1]`, `the body must be a JSON object`},
		{`{"metadata":`, `invalid JSON`},
	}
	for _, tt := range tests {
		var pod corev1.Pod
		err := Unmarshal([]byte(tt.in), &pod)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("decode %s: got %v, want an error containing %q", tt.in, err, tt.want)
		}
	}
}

func TestMicroTimeAndRawExtension(t *testing.T) {
	ev := &corev1.Event{EventTime: timestamppb.New(time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC))}
	data, _ := Marshal(ev)
	if want := `{"eventTime":"2026-01-02T03:04:05.123456Z"}`; string(data) != want {
		t.Errorf("micro time: got %s, want %s", data, want)
	}
	row := &metav1.TableRow{Cells: []*metav1.RawExtension{{Raw: []byte(`"web"`)}, {Raw: []byte(`3`)}},
		Object: &metav1.RawExtension{Raw: []byte(`{"kind":"X"}`)}}
	data, _ = Marshal(row)
	if want := `{"cells":["web",3],"object":{"kind":"X"}}`; string(data) != want {
		t.Errorf("raw extension: got %s, want %s", data, want)
	}
	var back metav1.TableRow
	if err := Unmarshal([]byte(`{"cells":["web", 3],"object":{ "kind" : "X" }}`), &back); err != nil {
		t.Fatal(err)
	}
	if string(back.GetObject().GetRaw()) != `{"kind":"X"}` || len(back.GetCells()) != 2 {
		t.Errorf("raw extension decode: got %v", &back)
	}
}

func TestSecretBytesAndEscaping(t *testing.T) {
	s := &corev1.Secret{Data: map[string][]byte{"pw": []byte("s3cret")}, StringData: map[string]string{"note": "a\"b<c>\n"}}
	data, _ := Marshal(s)
	if want := `{"data":{"pw":"czNjcmV0"},"stringData":{"note":"a\"b\u003cc\u003e\n"}}`; string(data) != want {
		t.Errorf("got %s, want %s", data, want)
	}
	var back corev1.Secret
	if err := Unmarshal(data, &back); err != nil || !proto.Equal(s, &back) {
		t.Errorf("round trip: got %v %v", &back, err)
	}
}

func FuzzUnmarshal(f *testing.F) {
	f.Add([]byte(`{"kind":"Pod","spec":{"containers":[{"name":"a","ports":[{"containerPort":1}]}]}}`))
	f.Add([]byte(`{"metadata":{"labels":{"a":"b"},"creationTimestamp":"2026-11-22T15:04:05Z"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var pod corev1.Pod
		if err := Unmarshal(data, &pod); err != nil {
			return
		}
		out, err := Marshal(&pod)
		if err != nil {
			return
		}
		var again corev1.Pod
		if err := Unmarshal(out, &again); err != nil {
			t.Fatalf("re-decode of %s: %v", out, err)
		}
		if !proto.Equal(&pod, &again) {
			t.Fatalf("round trip changed %s", out)
		}
	})
}

// FuzzUnmarshalYAML: any YAML read as a Pod never panics, and a decoded
// Pod written as JSON reads back to the same Pod.
func FuzzUnmarshalYAML(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n  - name: c\n    image: nginx\n"))
	f.Add([]byte("metadata: {labels: {a: b}}\nspec: {containers: [{name: a, resources: {limits: {cpu: 500m}}}]}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		var pod corev1.Pod
		if err := UnmarshalYAML(data, &pod); err != nil {
			return
		}
		out, err := Marshal(&pod)
		if err != nil {
			return
		}
		var again corev1.Pod
		if err := Unmarshal(out, &again); err != nil {
			t.Fatalf("re-decode of %s: %v", out, err)
		}
		if !proto.Equal(&pod, &again) {
			t.Fatalf("round trip changed %s", out)
		}
	})
}
