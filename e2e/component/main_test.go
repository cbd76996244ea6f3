package component

import (
	"testing"

	"skiff.dev/e2e/framework"
)

// TestMain removes the binaries the tests built once they have run.
func TestMain(m *testing.M) { framework.Main(m) }
