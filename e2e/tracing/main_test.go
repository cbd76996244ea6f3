// Package tracing tests end-to-end tracing: a Deployment applied with
// kubectl is followed through the apiserver, controller-manager, scheduler
// and a kubelet on real containerd in one trace, and kubectl skiff trace
// shows that trace from Jaeger.
package tracing

import (
	"testing"

	"skiff.dev/e2e/framework"
)

// TestMain removes the binaries and images the tests built.
func TestMain(m *testing.M) { framework.Main(m) }
