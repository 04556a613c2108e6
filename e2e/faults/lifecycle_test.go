package faults

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/fob-project/fob/state"
)

// TestDeleteAndRolloutUnderCalls deletes one function and rolls out new
// code for another while calls stream to both kept functions. No call may
// fail: during the rollout either version answers, the new instance runs
// before the old one is killed, and a call refused by an instance that is
// shutting down goes to another one. The deleted function answers 404 at
// once and its task is killed; GET /api/functions shows the new version,
// its state and instances.
// Conformance: 77.
func TestDeleteAndRolloutUnderCalls(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	e.startServer()
	keep, rolled, doomed := e.register("keep-v1"), e.register("roll-v1"), e.register("doomed-v1")
	want := map[string]string{keep: "keep-v1", rolled: "roll-v1", doomed: "doomed-v1"}
	e.settle(want)
	oldTask := e.runningTask(rolled)
	doomedTask := e.runningTask(doomed)

	calls := e.streamCalls(map[string]string{keep: "keep-v1", rolled: "roll-v1"})
	time.Sleep(200 * time.Millisecond) // calls are flowing

	if code, body := e.do("DELETE", "/api/functions/"+doomed, ""); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if code, body := e.do("GET", "/api/call/"+doomed, ""); code != 404 {
		t.Errorf("call right after DELETE: %d %s, want 404", code, body)
	}
	delete(want, doomed)

	calls.expect(rolled, "roll-v1|roll-v2")
	status, body := e.do("PUT", "/api/functions/"+rolled+"?lang=python", code("roll-v2"))
	if status != 200 {
		t.Fatalf("update: %d %s", status, body)
	}
	var upd struct {
		Version uint64 `json:"version"`
	}
	must(t, json.Unmarshal(body, &upd))
	if upd.Version != 2 {
		t.Errorf("version after update = %d, want 2", upd.Version)
	}
	want[rolled] = "roll-v2"
	e.settle(want, doomed)
	calls.expect(rolled, "roll-v2")
	time.Sleep(200 * time.Millisecond) // calls see only the new code now
	calls.finish(t)

	// The old instance ended only after the new one was running.
	newTask := e.runningTask(rolled)
	old, err := e.store().Task(nil, oldTask.ID)
	if err == nil && (old.State != state.TaskKilled || !old.UpdatedAt.After(newTask.UpdatedAt)) {
		t.Errorf("old instance %s is %s since %s; new instance running since %s",
			old.ID, old.State, old.UpdatedAt.Format(time.StampMilli), newTask.UpdatedAt.Format(time.StampMilli))
	}
	var v functionView
	e.eventually(5*time.Second, "GET shows the new version running", func() error {
		if v = e.describe(rolled); v.Version != 2 || v.State != string(state.PhaseRunning) {
			return fmt.Errorf("version %d state %q", v.Version, v.State)
		}
		return nil
	})
	found := false
	for _, in := range v.Instances {
		if in.TaskID == newTask.ID && in.Version == 2 && in.State == string(state.TaskRunning) {
			found = true
		}
	}
	if !found {
		t.Errorf("GET does not list the running v2 instance %s: %+v", newTask.ID, v.Instances)
	}
	for _, mt := range e.cluster.Master.Tasks(e.frameworkID()) {
		if mt.ID == doomedTask.ID && !mt.Terminal() {
			t.Errorf("the deleted function's task %s is %s", mt.ID, mt.State)
		}
	}
}

// TestLoadFailureNotRetried registers code that does not load. The
// executor fails the task with the error; fob marks the function failed,
// shows the error, answers calls 422 and does not launch that version
// again, while it goes on launching other functions. New code (PUT) is a
// new version, which is launched and runs.
// Conformance: 66, 68.
func TestLoadFailureNotRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	e.startServer()
	bad := e.registerCode("def callme(:\n    return 1\n")
	e.eventually(settleTimeout, "the function is marked failed", func() error {
		if v := e.describe(bad); v.State != string(state.PhaseFailed) || !strings.Contains(v.LastError, "SyntaxError") {
			return fmt.Errorf("state %q, last error %q", v.State, v.LastError)
		}
		return nil
	})
	if status, body := e.do("GET", "/api/call/"+bad, ""); status != 422 || !strings.Contains(string(body), "SyntaxError") {
		t.Errorf("call to a function that does not load: %d %s, want 422 with the error", status, body)
	}
	// The scheduler goes on working: a good function registered after the
	// failure runs. By then a retry of the bad one would have launched.
	good := e.register("good-v1")
	e.settle(map[string]string{good: "good-v1"})
	ts, err := e.store().TasksOf(nil, bad)
	must(t, err)
	if len(ts) != 1 {
		t.Errorf("%d tasks of the failing version, want the one that failed", len(ts))
	}

	if status, body := e.do("PUT", "/api/functions/"+bad+"?lang=python", code("fixed-v2")); status != 200 {
		t.Fatalf("update: %d %s", status, body)
	}
	e.settle(map[string]string{good: "good-v1", bad: "fixed-v2"})
	e.eventually(5*time.Second, "the fixed version shows running", func() error {
		if v := e.describe(bad); v.Version != 2 || v.State != string(state.PhaseRunning) {
			return fmt.Errorf("version %d state %q", v.Version, v.State)
		}
		return nil
	})
}
