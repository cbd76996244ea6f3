// Package cloudcontroller holds the cloud-controller's end-to-end tests:
// a real apiserver, real cloud-controller processes with the local
// provider in-process or as a plugin program, a test provider plugin
// whose cloud is a directory, and kubectl.
package cloudcontroller

import (
	"testing"

	"skiff.dev/e2e/framework"
)

// TestMain removes the binaries the tests built.
func TestMain(m *testing.M) { framework.Main(m) }
