package registry

import "testing"

// TestStorageVersionHash: the hashes Kubernetes' discovery gives (pods
// xPOwRZ+Yhw8=, deployments 8aSe+NMegvE=), a custom resource's from its
// storage version whichever version serves it.
func TestStorageVersionHash(t *testing.T) {
	cases := []struct {
		res  *Resource
		want string
	}{
		{&Resource{Version: "v1", Kind: "Pod"}, "xPOwRZ+Yhw8="},
		{&Resource{Group: "apps", Version: "v1", Kind: "Deployment"}, "8aSe+NMegvE="},
		{&Resource{Group: "apps", Version: "v2", StorageVersion: "v1", Kind: "Deployment"}, "8aSe+NMegvE="},
	}
	for _, c := range cases {
		if got := c.res.StorageVersionHash(); got != c.want {
			t.Errorf("%s/%s %s: got %s, want %s", c.res.Group, c.res.Version, c.res.Kind, got, c.want)
		}
	}
}
