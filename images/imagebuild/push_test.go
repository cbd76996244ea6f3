package imagebuild

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestPushTag(t *testing.T) {
	for ref, want := range map[string]string{
		"localhost:5000/e2e-test-images/busybox:1.37.0-1": "127.0.0.1:32768/e2e-test-images/busybox:1.37.0-1",
		"localhost:5000/pause:3.10.1":                     "127.0.0.1:32768/pause:3.10.1",
		"registry.skiff.local/testserver:1.0":             "127.0.0.1:32768/testserver:1.0",
	} {
		got, err := PushTag(ref, "127.0.0.1:32768")
		if err != nil || got.String() != want {
			t.Errorf("PushTag(%s) = %v, %v; want %s", ref, got, err, want)
		}
	}
}

func TestPush(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	img, err := New([]File{{Path: "/bin/x", Data: []byte("#!/bin/true\n")}}, Config{Cmd: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	ref := "localhost:5000/e2e-test-images/x:1"
	if err := Push(context.Background(), img, ref, addr); err != nil {
		t.Fatal(err)
	}
	tag, _ := PushTag(ref, addr)
	got, err := remote.Image(tag)
	if err != nil {
		t.Fatal(err)
	}
	gotDigest, _ := got.Digest()
	wantDigest, _ := img.Digest()
	if gotDigest != wantDigest {
		t.Errorf("got digest %s in the registry, want %s", gotDigest, wantDigest)
	}
}
