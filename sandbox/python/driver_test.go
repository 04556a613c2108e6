package python

import (
	"strings"
	"testing"

	"github.com/fob-project/fob/sandbox"
)

func TestRegistered(t *testing.T) {
	d, ok := sandbox.Lookup(Name)
	if !ok {
		t.Fatalf("driver %q not registered", Name)
	}
	if len(d.Shim) == 0 || !strings.HasPrefix(d.ShimName, "fob_worker") || !strings.HasPrefix(d.Extension, ".") {
		t.Errorf("incomplete driver: %+v", d)
	}
	joined := strings.Join(d.Command, " ")
	if !strings.Contains(joined, "{shim}") || !strings.Contains(joined, "{code}") {
		t.Errorf("command %q lacks {shim} or {code}", joined)
	}
	// The warm pool starts workers without code.
	wait := strings.Join(d.WaitCommand, " ")
	if !strings.Contains(wait, "{shim}") || strings.Contains(wait, "{code}") {
		t.Errorf("wait command %q: want {shim} and no {code}", wait)
	}
}
