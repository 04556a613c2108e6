package api

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fob-project/fob/state"
)

const testToken = "0123456789abcdef-api-token"

// send is do with an Authorization header (none when auth is empty).
func (h *harness) send(method, path, body, auth string) (int, http.Header, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.srv.URL+path, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]any{"text": string(b)}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(b, &out); err != nil {
			h.t.Fatalf("%s %s: body %q is not JSON: %v", method, path, b, err)
		}
	}
	return resp.StatusCode, resp.Header, out
}

// putTask records a task of fn in the given state with a secret.
func (h *harness) putTask(fnID, taskID, secret string, st state.TaskState) {
	h.t.Helper()
	if err := h.store.PutTask(&state.Task{ID: taskID, FunctionID: fnID, Version: 1, State: st, Secret: secret}); err != nil {
		h.t.Fatal(err)
	}
}

// TestTokenRequired: with a token configured, every /api/ endpoint needs
// it, /healthz does not, and a wrong or missing token is a JSON 401 with a
// Bearer challenge.
func TestTokenRequired(t *testing.T) {
	h := newHarness(t, Config{Token: testToken})
	bearer := "Bearer " + testToken
	status, _, out := h.send("POST", "/api/gen?name=adder", "def callme(): return 1", bearer)
	if status != 201 {
		t.Fatalf("register with the token: %d %v", status, out)
	}
	id := out["id"].(string)
	h.putTask(id, "task-live", "live-secret", state.TaskRunning)
	h.putTask(id, "task-dead", "dead-secret", state.TaskKilled)
	other := "other-fn"
	h.store.PutFunction(&state.Function{ID: other, Language: "python", Code: []byte("x"), Version: 1})
	h.putTask(other, "task-other", "other-secret", state.TaskRunning)

	cases := []struct {
		name, method, path, auth string
		status                   int
	}{
		{"healthz is open", "GET", "/healthz", "", 200},
		{"stats without token", "GET", "/api/stats", "", 401},
		{"stats with token", "GET", "/api/stats", bearer, 200},
		{"lower-case scheme", "GET", "/api/stats", "bearer " + testToken, 200},
		{"wrong token", "GET", "/api/stats", "Bearer nope", 401},
		{"token as basic auth", "GET", "/api/stats", "Basic " + testToken, 401},
		{"token prefix", "GET", "/api/stats", "Bearer " + testToken[:10], 401},
		{"empty bearer", "GET", "/api/stats", "Bearer ", 401},
		{"gen without token", "POST", "/api/gen", "", 401},
		{"call without token", "GET", "/api/call/" + id, "", 401},
		{"meta without token", "GET", "/api/meta/" + id, "", 401},
		{"list without token", "GET", "/api/functions", "", 401},
		{"describe without token", "GET", "/api/functions/" + id, "", 401},
		{"update without token", "PUT", "/api/functions/" + id, "", 401},
		{"delete without token", "DELETE", "/api/functions/" + id, "", 401},
		{"logs without token", "GET", "/api/logs/" + id, "", 401},
		{"unknown function without token", "GET", "/api/functions/nope", "", 401},
		{"code without token", "GET", "/api/cs/" + id, "", 401},
		{"code with token", "GET", "/api/cs/" + id, bearer, 200},
		{"code with a live task's secret", "GET", "/api/cs/" + id, "Bearer live-secret", 200},
		{"code by name with the secret", "GET", "/api/cs/adder", "Bearer live-secret", 200},
		{"code with an ended task's secret", "GET", "/api/cs/" + id, "Bearer dead-secret", 401},
		{"code with another function's secret", "GET", "/api/cs/" + id, "Bearer other-secret", 401},
		{"code of an unknown function with a secret", "GET", "/api/cs/nope", "Bearer live-secret", 401},
		{"a secret opens nothing else", "GET", "/api/functions/" + id, "Bearer live-secret", 401},
		{"unknown function with token", "GET", "/api/functions/nope", bearer, 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, out := h.send(c.method, c.path, "", c.auth)
			if status != c.status {
				t.Fatalf("%s %s: %d %v, want %d", c.method, c.path, status, out, c.status)
			}
			if status == 401 {
				if hdr.Get("WWW-Authenticate") != `Bearer realm="fob"` {
					t.Errorf("WWW-Authenticate = %q", hdr.Get("WWW-Authenticate"))
				}
				if msg, _ := out["error"].(string); msg == "" {
					t.Errorf("401 body %v has no error", out)
				}
			}
		})
	}
}

// TestOpenByDefault: without a token the API is the seed's, /api/cs
// included.
func TestOpenByDefault(t *testing.T) {
	h := newHarness(t, Config{})
	id := h.register("def callme(): return 1")
	for _, path := range []string{"/api/stats", "/api/functions", "/api/functions/" + id, "/api/cs/" + id} {
		if status, _, out := h.send("GET", path, "", ""); status != 200 {
			t.Errorf("GET %s: %d %v", path, status, out)
		}
	}
	// A stray token is no reason to refuse an open API.
	if status, _, _ := h.send("GET", "/api/stats", "", "Bearer whatever"); status != 200 {
		t.Errorf("open API with a token: %d", status)
	}
}
