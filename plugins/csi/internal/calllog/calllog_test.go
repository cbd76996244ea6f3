package calllog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/container-storage-interface/spec/lib/go/csi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
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

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestWriteFailureKeepsResult: a call that succeeded stays a success when
// its line cannot be written.
func TestWriteFailureKeepsResult(t *testing.T) {
	l := New(failingWriter{})
	want := &csi.ProbeResponse{}
	resp, err := l.Interceptor(context.Background(), &csi.ProbeRequest{}, &grpc.UnaryServerInfo{FullMethod: "/csi.v1.Identity/Probe"},
		func(context.Context, any) (any, error) { return want, nil })
	if err != nil || resp != want {
		t.Fatalf("Interceptor = %v, %v; want the handler's response and no error", resp, err)
	}
}

// TestRedactsBySchema: the fields marked csi_secret are left out at any
// depth and whatever their name; the request itself is not changed.
func TestRedactsBySchema(t *testing.T) {
	secretOpts := &descriptorpb.FieldOptions{}
	proto.SetExtension(secretOpts, csi.E_CsiSecret, true)
	field := func(name string, n int32, typ descriptorpb.FieldDescriptorProto_Type, msg string, opts *descriptorpb.FieldOptions) *descriptorpb.FieldDescriptorProto {
		f := &descriptorpb.FieldDescriptorProto{
			Name: proto.String(name), JsonName: proto.String(name), Number: proto.Int32(n), Type: typ.Enum(),
			Label: descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(), Options: opts,
		}
		if msg != "" {
			f.TypeName = proto.String(msg)
		}
		return f
	}
	str, msg := descriptorpb.FieldDescriptorProto_TYPE_STRING, descriptorpb.FieldDescriptorProto_TYPE_MESSAGE
	file, err := protodesc.NewFile(&descriptorpb.FileDescriptorProto{
		Name: proto.String("redact_test.proto"), Package: proto.String("t"), Syntax: proto.String("proto3"),
		MessageType: []*descriptorpb.DescriptorProto{
			{Name: proto.String("Inner"), Field: []*descriptorpb.FieldDescriptorProto{
				field("password", 1, str, "", secretOpts), field("user", 2, str, "", nil),
			}},
			{Name: proto.String("Outer"), Field: []*descriptorpb.FieldDescriptorProto{
				field("token", 1, str, "", secretOpts), field("inner", 2, msg, ".t.Inner", nil), field("name", 3, str, "", nil),
			}},
		},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	outerDesc, innerDesc := file.Messages().ByName("Outer"), file.Messages().ByName("Inner")
	inner := dynamicpb.NewMessage(innerDesc)
	inner.Set(innerDesc.Fields().ByName("password"), protoreflect.ValueOfString("p"))
	inner.Set(innerDesc.Fields().ByName("user"), protoreflect.ValueOfString("u"))
	outer := dynamicpb.NewMessage(outerDesc)
	outer.Set(outerDesc.Fields().ByName("token"), protoreflect.ValueOfString("t"))
	outer.Set(outerDesc.Fields().ByName("inner"), protoreflect.ValueOfMessage(inner))
	outer.Set(outerDesc.Fields().ByName("name"), protoreflect.ValueOfString("n"))

	got, err := json.Marshal(fields(outer))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"inner":{"user":"u"},"name":"n"}`; string(got) != want {
		t.Fatalf("logged %s, want %s", got, want)
	}
	if !outer.Has(outerDesc.Fields().ByName("token")) || !inner.Has(innerDesc.Fields().ByName("password")) {
		t.Fatal("redacting changed the request the handler gets")
	}
}
