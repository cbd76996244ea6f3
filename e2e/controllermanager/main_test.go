package controllermanager

import (
	"testing"

	"skiff.dev/e2e/framework"
)

// TestMain removes the binaries the tests built.
func TestMain(m *testing.M) { framework.Main(m) }
