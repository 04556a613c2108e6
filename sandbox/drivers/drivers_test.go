package drivers

import (
	"slices"
	"testing"

	"github.com/fob-project/fob/sandbox"
)

func TestAllDriversRegistered(t *testing.T) {
	for _, name := range []string{"node", "python"} {
		if !slices.Contains(sandbox.Names(), name) {
			t.Errorf("driver %q not registered; have %v", name, sandbox.Names())
		}
	}
}
