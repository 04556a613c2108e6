package e2e

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

const e2eToken = "e2e-token-0123456789abcdef"

// doAuth is do with a bearer token ("" sends none).
func (f *fob) doAuth(method, path, token, body string) response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// TestAPIToken runs `fob local --api-token`: /api needs the token, /healthz
// does not, and functions still start, which means executors fetched their
// code from /api/cs with their task secrets.
func TestAPIToken(t *testing.T) {
	f := startFob(t, "--api-token", e2eToken)
	cases := []struct {
		name, method, path, token string
		status                    int
	}{
		{"healthz is open", "GET", "/healthz", "", 200},
		{"stats without token", "GET", "/api/stats", "", 401},
		{"stats with a wrong token", "GET", "/api/stats", "wrong-token-0123456789", 401},
		{"stats with the token", "GET", "/api/stats", e2eToken, 200},
		{"gen without token", "POST", "/api/gen", "", 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := f.doAuth(c.method, c.path, c.token, "def callme():\n    return 1\n")
			if r.status != c.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, c.status)
			}
			if r.status == 401 {
				if r.header.Get("WWW-Authenticate") == "" || r.json(t)["error"] == nil {
					t.Errorf("401 without a Bearer challenge or JSON error: %v %s", r.header, r.body)
				}
			}
		})
	}

	r := f.doAuth("POST", "/api/gen?wait=true", e2eToken, addCode)
	if r.status != 201 || r.json(t)["state"] != "running" {
		t.Fatalf("register with the token: %d %s", r.status, r.body)
	}
	id := r.json(t)["id"].(string)
	if r := f.doAuth("GET", "/api/call/"+id+"?param1:1,param2:1", e2eToken, ""); r.status != 200 || r.json(t)["result"] != 2.0 {
		t.Fatalf("call with the token: %d %s", r.status, r.body)
	}
	for _, path := range []string{"/api/call/" + id + "?param1:1,param2:1", "/api/cs/" + id, "/api/logs/" + id} {
		if r := f.doAuth("GET", path, "", ""); r.status != 401 {
			t.Errorf("GET %s without the token: %d %s", path, r.status, r.body)
		}
	}
	// The client verbs take the token from FOB_API_TOKEN.
	cmd := exec.Command(fobBinary, "call", id, "param1=2", "param2=5")
	cmd.Env = append(os.Environ(), "FOB_API="+f.URL, "FOB_API_TOKEN="+e2eToken)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), `"result":7`) {
		t.Errorf("fob call with FOB_API_TOKEN: %v\n%s", err, out)
	}
}

// TestMesosCredentials: with --mesos-credentials the embedded master
// requires them and the scheduler presents them; functions run as before.
func TestMesosCredentials(t *testing.T) {
	f := startFob(t, "--mesos-credentials", "fob:e2e-mesos-secret")
	r := f.do("POST", "/api/gen?wait=true", "text/plain", strings.NewReader(answerCode))
	if r.status != 201 || r.json(t)["state"] != "running" {
		t.Fatalf("register: %d %s\n%s", r.status, r.body, f.tail(4000))
	}
	if r := f.get("/api/call/" + r.json(t)["id"].(string)); r.status != 200 {
		t.Fatalf("call: %d %s", r.status, r.body)
	}
}

// waitLogs polls GET /api/logs/{id} until cond accepts the answer.
func (f *fob) waitLogs(path string, cond func(response) bool) response {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := f.get(path)
		if cond(r) {
			return r
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("GET %s never gave the expected answer; last: %d %s", path, r.status, r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
