package imagebuild

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Push writes image to the plain-HTTP registry at addr (host:port) under
// ref's repository and tag, whatever registry ref names
// ("localhost:5000/e2e-test-images/busybox:1.37.0-1" to addr
// 127.0.0.1:32768 → 127.0.0.1:32768/e2e-test-images/busybox:1.37.0-1).
// Layers the registry has already are not sent again.
func Push(ctx context.Context, image v1.Image, ref, addr string) error {
	to, err := PushTag(ref, addr)
	if err != nil {
		return err
	}
	if err := remote.Write(to, image, remote.WithContext(ctx)); err != nil {
		return fmt.Errorf("push %s to %s: %w", ref, addr, err)
	}
	return nil
}

// PushTag is ref's repository and tag in the registry at addr.
func PushTag(ref, addr string) (name.Tag, error) {
	tag, err := name.NewTag(ref)
	if err != nil {
		return name.Tag{}, err
	}
	return name.NewTag(addr+"/"+tag.RepositoryStr()+":"+tag.TagStr(), name.Insecure)
}
