package api

import (
	"net/http"
	"testing"
)

// A client reads its own writes: a call right after registration finds
// the function (503 while nothing runs, never 404), and one right after a
// DELETE does not.
func TestWritesAreVisibleToTheNextRequest(t *testing.T) {
	h := newHarness(t, Config{})
	for i := 0; i < 50; i++ {
		id := h.register("def callme():\n    return 1\n")
		if status, out := h.do("GET", "/api/meta/"+id, ""); status != http.StatusServiceUnavailable {
			t.Fatalf("meta right after registration: %d %v", status, out)
		}
		if status, out := h.do("DELETE", "/api/functions/"+id, ""); status != http.StatusOK {
			t.Fatalf("delete: %d %v", status, out)
		}
		if status, out := h.do("GET", "/api/meta/"+id, ""); status != http.StatusNotFound {
			t.Fatalf("meta right after DELETE: %d %v", status, out)
		}
	}
}
