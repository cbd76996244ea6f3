// Package proxy tests the service proxy end to end: the real apiserver, the
// proxy binary in a network namespace playing the node, and clients and
// backends in namespaces of their own, joined by veth pairs; traffic is
// real TCP through the kernel rules the proxy writes, in both modes.
package proxy

import (
	"testing"

	"skiff.dev/e2e/framework"
)

func TestMain(m *testing.M) { framework.Main(m) }
