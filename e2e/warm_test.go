package e2e

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestWarmPool registers functions on a fob local with a warm pool of two
// stems per language: each registration comes back running and callable
// from a stem (its instance is a task fob.stem.<language>.*), and the
// pool is refilled to two unused stems.
func TestWarmPool(t *testing.T) {
	f := startFob(t, "--warm-pool", "2")
	langs := []struct {
		lang, ext, code string
	}{
		{"python", ".py", "import os\n\ndef callme(a):\n    return [a * 2, os.environ['FOB_FUNCTION_ID']]\n"},
		{"node", ".js", "exports.callme = ({a}) => [a * 2, process.env.FOB_FUNCTION_ID];\n"},
	}
	for _, l := range langs {
		t.Run(l.lang, func(t *testing.T) {
			f.waitUnusedStems(l.lang, l.ext, 2)

			start := time.Now()
			r := f.do("POST", "/api/gen?wait=true&lang="+l.lang, "text/plain", strings.NewReader(l.code))
			took := time.Since(start)
			if r.status != http.StatusCreated {
				t.Fatalf("register: %d %s", r.status, r.body)
			}
			reg := r.json(t)
			id, _ := reg["id"].(string)
			if reg["state"] != "running" {
				t.Fatalf("registration with wait=true: %s, want running", r.body)
			}
			t.Logf("registration of a %s function came back running after %v", l.lang, took)

			desc := f.get("/api/functions/" + id)
			var view struct {
				Instances []struct {
					TaskID string `json:"task_id"`
					State  string `json:"state"`
				} `json:"instances"`
			}
			if err := json.Unmarshal(desc.body, &view); err != nil || len(view.Instances) != 1 {
				t.Fatalf("describe: %d %s", desc.status, desc.body)
			}
			if inst := view.Instances[0]; !strings.HasPrefix(inst.TaskID, "fob.stem."+l.lang+".") || inst.State != "running" {
				t.Errorf("instance %+v, want a running stem of %s", inst, l.lang)
			}

			call := f.do("POST", "/api/call/"+id, "application/json", strings.NewReader(`{"a": 21}`))
			if want := `{"result":[42,"` + id + `"]}`; call.status != 200 || string(call.body) != want {
				t.Errorf("call: %d %s, want %s", call.status, call.body, want)
			}
			f.waitUnusedStems(l.lang, l.ext, 2)
		})
	}
}

// waitUnusedStems waits until exactly n stems of lang run without a
// function: stems fob's scheduler saw running (its log says so) whose
// executor lives (a process works in the stem's sandbox) and whose sandbox
// holds no code.
func (f *fob) waitUnusedStems(lang, ext string, n int) {
	f.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var got []string
	for time.Now().Before(deadline) {
		if got = f.unusedStems(lang, ext); len(got) == n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.t.Fatalf("unused %s stems: %v, want %d", lang, got, n)
}

func (f *fob) unusedStems(lang, ext string) []string {
	root, err := filepath.EvalSymlinks(f.dataDir)
	if err != nil {
		f.t.Fatal(err)
	}
	logged := f.tail(1 << 30)
	entries, _ := os.ReadDir("/proc")
	seen := map[string]bool{}
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err != nil || !strings.HasPrefix(cwd, root+"/") || !strings.Contains(cwd, "/executors/fob.stem."+lang+".") || seen[cwd] {
			continue
		}
		seen[cwd] = true
		task := filepath.Base(filepath.Dir(filepath.Dir(cwd))) // …/executors/<task>/runs/<run>
		if !f.loggedRunning(logged, task) {
			continue
		}
		if _, err := os.Stat(filepath.Join(cwd, "function"+ext)); os.IsNotExist(err) {
			out = append(out, task)
		}
	}
	return out
}

// loggedRunning reports whether the scheduler logged task as running.
func (f *fob) loggedRunning(log, task string) bool {
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, `msg="task state"`) && strings.Contains(line, "task_id="+task+" ") &&
			strings.Contains(line, " state=running ") {
			return true
		}
	}
	return false
}
