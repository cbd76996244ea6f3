// Package samplecontroller runs Kubernetes' sample-controller, built
// unmodified from its own module with its own client-go, against Skiff:
// its CRD, its informers on a custom resource, the Deployments it makes
// and owns, the status it writes through the status subresource, and
// the garbage collection of what it made.
package samplecontroller

import (
	"testing"

	"skiff.dev/e2e/framework"
)

// TestMain removes the binaries the tests built.
func TestMain(m *testing.M) { framework.Main(m) }
