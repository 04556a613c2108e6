package e2e

import (
	"net/http"
	"strings"
	"testing"
)

const (
	answerCode = "def callme():\n    return 42\n"
	// The seed's add function: its query syntax passes strings.
	addCode = "def callme(param1, param2):\n    return int(param1) + int(param2)\n"
	// typedAdd shows typed JSON parameters: strings would concatenate.
	typedAdd = "def callme(a, b):\n    return a + b\n"
)

// TestWalkthrough runs the README's walk-through against `fob local`.
func TestWalkthrough(t *testing.T) {
	f := startFob(t)

	answer := f.register("", answerCode)
	add := f.register("?lang=python", addCode)
	typed := f.register("", typedAdd)

	stats := f.get("/api/stats")
	if stats.status != 200 {
		t.Fatalf("stats: %d %s", stats.status, stats.body)
	}
	listed := map[string]bool{}
	for _, id := range stats.json(t)["functions"].([]any) {
		listed[id.(string)] = true
	}
	for _, id := range []string{answer, add, typed} {
		if !listed[id] {
			t.Fatalf("stats %s does not list %s", stats.body, id)
		}
	}

	calls := []struct {
		name, method, path, body string
		want                     any
	}{
		{"no params", "GET", "/api/call/" + answer, "", 42.0},
		{"seed syntax", "GET", "/api/call/" + add + "?param1:1,param2:1", "", 2.0},
		{"ordinary query", "GET", "/api/call/" + add + "?param1=1&param2=1", "", 2.0},
		{"json body typed", "POST", "/api/call/" + typed, `{"a": 1, "b": 2}`, 3.0},
		{"seed syntax strings", "GET", "/api/call/" + typed + "?a:1,b:2", "", "12"},
		{"json body lists", "POST", "/api/call/" + typed, `{"a": [1], "b": [2]}`, []any{1.0, 2.0}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(c.method, c.path, "application/json", strings.NewReader(c.body))
			if r.status != 200 {
				t.Fatalf("%s %s: %d %s", c.method, c.path, r.status, r.body)
			}
			got := r.json(t)["result"]
			if !equalJSON(got, c.want) {
				t.Fatalf("result = %#v, want %#v (body %s)", got, c.want, r.body)
			}
		})
	}

	meta := f.get("/api/meta/" + answer)
	if meta.status != 200 {
		t.Fatalf("meta: %d %s", meta.status, meta.body)
	}
	m := meta.json(t)
	if m["host"] == nil || m["port"] == nil || m["port"].(float64) == 0 {
		t.Fatalf("meta lacks host/port: %s", meta.body)
	}

	cs := f.get("/api/cs/" + add)
	if cs.status != 200 || string(cs.body) != addCode || !strings.HasPrefix(cs.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("cs: %d %q %s", cs.status, cs.body, cs.header.Get("Content-Type"))
	}
}

func equalJSON(a, b any) bool {
	switch av := a.(type) {
	case []any:
		bv, ok := b.([]any)
		if !ok || len(av) != len(bv) {
			return false
		}
		for i := range av {
			if !equalJSON(av[i], bv[i]) {
				return false
			}
		}
		return true
	default:
		return a == b
	}
}

// TestErrors checks every error case of the walk-through answers JSON
// {"error": …} with the right status.
func TestErrors(t *testing.T) {
	f := startFob(t, "--call-wait", "1s")

	syntax := f.register("", "def callme(:\n    return 1\n")
	noCallme := f.register("", "def other():\n    return 1\n")
	raises := f.register("", "def callme():\n    return 1 / 0\n")
	slow := f.register("", "import time\ntime.sleep(30)\ndef callme():\n    return 1\n")
	// Load failures are reported by the executor; wait until fob knows.
	f.waitState(syntax, "failed")
	f.waitState(noCallme, "failed")
	f.waitState(raises, "running")

	cases := []struct {
		name, method, path, body string
		status                   int
		errHas                   []string
	}{
		{"unknown function", "GET", "/api/call/00000000-0000-4000-8000-000000000000", "", 404, []string{"unknown function"}},
		{"unknown meta", "GET", "/api/meta/nope", "", 404, []string{"unknown function"}},
		{"unknown code", "GET", "/api/cs/nope", "", 404, []string{"unknown function"}},
		{"unknown language", "POST", "/api/gen?lang=cobol", "x", 400, []string{"unknown language", "python"}},
		{"empty body", "POST", "/api/gen", "", 400, []string{"empty body"}},
		{"too large", "POST", "/api/gen", strings.Repeat("#", 1<<20+1), 413, []string{"limit"}},
		{"bad params", "GET", "/api/call/" + raises + "?a:1,a:2", "", 400, []string{"given twice"}},
		{"syntax error", "GET", "/api/call/" + syntax, "", 422, []string{"SyntaxError", "line 1"}},
		{"no callme", "GET", "/api/call/" + noCallme, "", 422, []string{"callme"}},
		{"raises", "GET", "/api/call/" + raises, "", 500, []string{"ZeroDivisionError", "division by zero"}},
		{"still starting", "GET", "/api/call/" + slow, "", 503, []string{"starting"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.do(c.method, c.path, "text/plain", strings.NewReader(c.body))
			if r.status != c.status {
				t.Fatalf("status = %d, want %d: %s", r.status, c.status, r.body)
			}
			msg, _ := r.json(t)["error"].(string)
			for _, want := range c.errHas {
				if !strings.Contains(msg, want) {
					t.Fatalf("error %q does not mention %q", msg, want)
				}
			}
		})
	}

	// A raised exception carries its type, message and traceback.
	r := f.get("/api/call/" + raises)
	exc, _ := r.json(t)["exception"].(map[string]any)
	if exc["type"] != "ZeroDivisionError" || exc["message"] != "division by zero" ||
		!strings.Contains(exc["traceback"].(string), "function.py") {
		t.Fatalf("exception detail = %s", r.body)
	}
	if r.status == http.StatusOK {
		t.Fatal("a raising function answered 200")
	}
}
