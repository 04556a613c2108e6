package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/fob-project/fob/internal/fobtest"
)

// fobBinary is built once per test run by TestMain.
var fobBinary string

func TestMain(m *testing.M) { fobtest.Main(m, "../cmd/fob", &fobBinary) }

// fob is one running `fob local` process.
type fob struct {
	t       *testing.T
	cmd     *exec.Cmd
	URL     string
	dataDir string
	addr    string
	log     *bytes.Buffer
	extra   []string
	exited  chan struct{}
	// token, when set, goes with every request of do as a bearer token.
	token string
}

// agentPorts gives each fob its own port range for function instances, so
// fobs of different tests (or packages run in parallel) never offer the
// same ports.
func agentPorts() []string {
	base := 20000 + rand.IntN(90)*100
	return []string{"--agent-resources", fmt.Sprintf("cpus:4;mem:8192;disk:10240;ports:[%d-%d]", base, base+99)}
}

// startFob starts `fob local` with its own data dir and waits until its API
// answers.
func startFob(t *testing.T, extra ...string) *fob {
	t.Helper()
	return startFobIn(t, t.TempDir(), extra...)
}

// startFobIn is startFob with the data dir given.
func startFobIn(t *testing.T, dataDir string, extra ...string) *fob {
	t.Helper()
	f := &fob{t: t, dataDir: dataDir, addr: fobtest.FreeAddr(t), extra: append(agentPorts(), extra...)}
	f.start()
	t.Cleanup(func() {
		f.stop()
		if t.Failed() {
			t.Logf("fob log:\n%s", f.tail(8000))
		}
	})
	return f
}

func (f *fob) start() {
	f.t.Helper()
	args := append([]string{"local", "--listen", f.addr, "--data-dir", f.dataDir, "--log-level", "debug"}, f.extra...)
	f.cmd = exec.Command(fobBinary, args...)
	f.log = &bytes.Buffer{}
	f.cmd.Stdout, f.cmd.Stderr = &lockedWriter{w: f.log}, &lockedWriter{w: f.log}
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := f.cmd.Start(); err != nil {
		f.t.Fatal(err)
	}
	f.exited = make(chan struct{})
	go func() { f.cmd.Wait(); close(f.exited) }()
	f.URL = "http://" + f.addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(f.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-f.exited:
			f.t.Fatalf("fob exited during start-up:\n%s", f.tail(4000))
		default:
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("fob did not answer /healthz in time:\n%s", f.tail(4000))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop ends fob with SIGTERM (SIGKILL if it lingers) and its whole
// process group, executors included.
func (f *fob) stop() {
	if f.cmd == nil || f.cmd.Process == nil {
		return
	}
	f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
		<-f.exited
	}
	syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
}

func (f *fob) tail(n int) string {
	logMu <- struct{}{}
	s := f.log.String()
	<-logMu
	if len(s) > n {
		s = s[len(s)-n:]
	}
	return s
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.body, err)
	}
	return m
}

func (f *fob) do(method, path, contentType string, body io.Reader) response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (f *fob) get(path string) response { return f.do("GET", path, "", nil) }

// register posts code and returns the new function's id.
func (f *fob) register(query, code string) string {
	f.t.Helper()
	r := f.do("POST", "/api/gen"+query, "text/plain", strings.NewReader(code))
	if r.status != http.StatusCreated {
		f.t.Fatalf("register: %d %s", r.status, r.body)
	}
	id, _ := r.json(f.t)["id"].(string)
	if id == "" {
		f.t.Fatalf("register answered no id: %s", r.body)
	}
	return id
}

// lockedWriter serialises writes from the process's two output pipes.
type lockedWriter struct {
	w io.Writer
}

var logMu = make(chan struct{}, 1)

func (l *lockedWriter) Write(p []byte) (int, error) {
	logMu <- struct{}{}
	defer func() { <-logMu }()
	return l.w.Write(p)
}

// waitState polls GET /api/functions/{id} until the function reaches want.
func (f *fob) waitState(id, want string) {
	f.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	last := ""
	for time.Now().Before(deadline) {
		r := f.get("/api/functions/" + id)
		if r.status == 200 {
			var m map[string]any
			if json.Unmarshal(r.body, &m) == nil {
				last, _ = m["state"].(string)
				if last == want {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.t.Fatalf("function %s never reached state %q (last %q)", id, want, last)
}
