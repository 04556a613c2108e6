package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// envAllowNoRoot lets a run without root skip the hostile-function
// battery knowingly; by default the battery fails without root, so that
// a CI machine that lost its privileges cannot pass it by skipping.
const envAllowNoRoot = "FOB_ALLOW_NO_ROOT"

// requireSandboxes fails the test unless this machine can isolate
// functions: root, and the memory, cpu and pids cgroup controllers.
func requireSandboxes(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv(envAllowNoRoot) == "1" {
			t.Skipf("%s=1: skipping the hostile-function battery, which needs root (running as uid %d)", envAllowNoRoot, os.Geteuid())
		}
		t.Fatalf("the hostile-function battery needs root: namespaces, a uid per function and cgroup limits "+
			"are what it tests (running as uid %d); run the tests as root, or set %s=1 to skip it knowingly",
			os.Geteuid(), envAllowNoRoot)
	}
	for _, ctrl := range []string{"memory", "cpu", "pids"} {
		if _, err := os.Stat(filepath.Join(cgroupDir(ctrl, ""), "cgroup.procs")); err != nil {
			t.Fatalf("running as root but the %s cgroup controller is not usable: %v", ctrl, err)
		}
	}
}

// cgroupDir is where fob's agent puts a container's cgroup of a
// controller (the controller's root for an empty container id).
func cgroupDir(ctrl, containerID string) string {
	const root = "/sys/fs/cgroup"
	if _, err := os.Stat(filepath.Join(root, "cgroup.controllers")); err == nil {
		if containerID == "" {
			return root
		}
		return filepath.Join(root, "fob", containerID)
	}
	if containerID == "" {
		return filepath.Join(root, ctrl)
	}
	return filepath.Join(root, ctrl, "fob", containerID)
}

func readCgroupInt(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return n
}

// readKeyedInt reads key's value from a "key value" per line file.
func readKeyedInt(t *testing.T, path, key string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == key {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

// hostProcesses counts the host's processes.
func hostProcesses(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err == nil {
			n++
		}
	}
	return n
}

// instance is where a function's single instance runs on the host.
type instance struct {
	taskID      string
	sandbox     string
	containerID string
}

// instanceOf finds the sandbox of id's running instance in the agent's
// work dir (Mesos layout, the executor id being the task id).
func (f *fob) instanceOf(id string) instance {
	f.t.Helper()
	r := f.get("/api/meta/" + id)
	if r.status != http.StatusOK {
		f.t.Fatalf("meta of %s: %d %s", id, r.status, r.body)
	}
	task, _ := r.json(f.t)["task_id"].(string)
	runs, _ := filepath.Glob(filepath.Join(f.dataDir, "mesos", "*", "slaves", "*", "frameworks", "*", "executors", task, "runs", "*"))
	if len(runs) != 1 {
		f.t.Fatalf("sandboxes of task %s: %v", task, runs)
	}
	return instance{taskID: task, sandbox: runs[0], containerID: filepath.Base(runs[0])}
}

// callJSON posts params as a JSON body and returns the answer.
func (f *fob) callJSON(id string, params any) response {
	f.t.Helper()
	b, err := json.Marshal(params)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.do("POST", "/api/call/"+id, "application/json", strings.NewReader(string(b)))
}

// getAsync is get for a goroutine other than the test's: a failed
// request is a response with status 0.
func (f *fob) getAsync(path string) response {
	req, err := http.NewRequest("GET", f.URL+path, nil)
	if err != nil {
		return response{body: []byte(err.Error())}
	}
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return response{body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// result is the "result" of a 200 answer, or a fatal error.
func (r response) result(t *testing.T) any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("call answered %d %s, want 200", r.status, r.body)
	}
	return r.json(t)["result"]
}

// neighbour is a well-behaved function called around and during each
// attack: whatever another function does, it answers, and in time.
type neighbour struct {
	f  *fob
	id string
	n  int
}

const neighbourCode = "def callme(n):\n    return int(n) * 2\n"

// neighbourDeadline is how long one of its calls may take.
const neighbourDeadline = 2 * time.Second

// check makes one call and fails t unless it is right and quick.
func (nb *neighbour) check(t *testing.T) {
	t.Helper()
	nb.n++
	start := time.Now()
	r := nb.f.get(fmt.Sprintf("/api/call/%s?n=%d", nb.id, nb.n))
	took := time.Since(start)
	if r.status != http.StatusOK || r.json(t)["result"] != float64(2*nb.n) {
		t.Errorf("neighbour answered %d %s", r.status, r.body)
	}
	if took > neighbourDeadline {
		t.Errorf("neighbour took %v to answer", took)
	}
}

// during calls the neighbour every 100 ms until the returned stop is
// called, and reports any call that failed or was slow.
func (nb *neighbour) during(t *testing.T) (stop func()) {
	t.Helper()
	done := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	wg.Go(func() {
		client := &http.Client{Timeout: 10 * time.Second}
		for i := 1000; ; i++ {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
			}
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/call/%s?n=%d", nb.f.URL, nb.id, i), nil)
			if nb.f.token != "" {
				req.Header.Set("Authorization", "Bearer "+nb.f.token)
			}
			start := time.Now()
			resp, err := client.Do(req)
			took := time.Since(start)
			var problem string
			switch {
			case err != nil:
				problem = err.Error()
			case resp.StatusCode != http.StatusOK:
				problem = "status " + resp.Status
			case took > neighbourDeadline:
				problem = fmt.Sprintf("took %v", took)
			}
			if resp != nil {
				resp.Body.Close()
			}
			if problem != "" {
				mu.Lock()
				problems = append(problems, problem)
				mu.Unlock()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
		if len(problems) > 0 {
			t.Errorf("neighbour during the attack: %v", problems)
		}
	}
}
