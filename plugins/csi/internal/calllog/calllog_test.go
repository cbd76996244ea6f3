package calllog

import (
	"bytes"
	"context"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestInterceptor(t *testing.T) {
	var buf bytes.Buffer
	l := New(&buf)
	calls := []struct {
		method string
		req    any
		err    error
	}{
		{"/csi.v1.Controller/CreateVolume", &csi.CreateVolumeRequest{Name: "pvc-1", Secrets: map[string]string{"k": "v"}}, nil},
		{"/csi.v1.Node/NodePublishVolume", &csi.NodePublishVolumeRequest{VolumeId: "pvc-1", TargetPath: "/t"}, status.Error(codes.NotFound, "no such volume")},
	}
	for _, c := range calls {
		_, err := l.Interceptor(context.Background(), c.req, &grpc.UnaryServerInfo{FullMethod: c.method},
			func(context.Context, any) (any, error) { return nil, c.err })
		if status.Code(err) != status.Code(c.err) {
			t.Fatalf("%s: the handler's error changed: %v", c.method, err)
		}
	}
	entries, err := Read(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("%d entries: %s", len(entries), buf.String())
	}
	create, publish := entries[0], entries[1]
	if create.Method != calls[0].method || create.Code != "OK" || create.Request["name"] != "pvc-1" {
		t.Fatalf("create entry %+v", create)
	}
	if _, ok := create.Request["secrets"]; ok {
		t.Fatalf("secrets logged: %+v", create)
	}
	if publish.Code != "NotFound" || publish.Error != "no such volume" || publish.Request["target_path"] != "/t" {
		t.Fatalf("publish entry %+v", publish)
	}
}
