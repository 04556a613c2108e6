package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

func simulatedExecutor(id string) *mesos.ExecutorInfo {
	return &mesos.ExecutorInfo{
		Type:       mesos.ExecutorInfo_CUSTOM,
		ExecutorID: mesos.ExecutorID{Value: id},
		Command: &mesos.CommandInfo{
			Value: strp("never run"),
			URIs:  []mesos.CommandInfo_URI{{Value: "http://127.0.0.1:1/never-fetched"}},
		},
	}
}

// A scale run in miniature: 200 executors with a task each on one agent,
// half of the tasks killed, the other half shut down with their executors.
func TestSimulatedContainerizerScale(t *testing.T) {
	const n = 200
	m := newFakeMaster(true)
	a := newTestAgent(t, m, func(c *Config) { c.Containerizer = NewSimulatedContainerizer() })
	fw := mesos.FrameworkID{Value: "fw-1"}
	idle := runtime.NumGoroutine()

	for i := range n {
		a.LaunchTask(testFramework(), testTask(fmt.Sprintf("t%d", i), simulatedExecutor(fmt.Sprintf("e%d", i))))
	}
	m.waitFor(t, "every task running", func() bool { return countState(m.updates, mesos.TASK_RUNNING) == n })
	m.mu.Lock()
	for _, u := range m.updates {
		if u.GetSource() != mesos.SOURCE_EXECUTOR || u.AgentID == nil || u.ExecutorID == nil || len(u.UUID) != 16 {
			t.Errorf("update %s %s: source %s, agent %v, executor %v", u.TaskID.Value, u.GetState(), u.GetSource(), u.AgentID, u.ExecutorID)
		}
	}
	if got := countState(m.updates, mesos.TASK_STARTING); got != n {
		t.Errorf("%d TASK_STARTING, want %d", got, n)
	}
	m.mu.Unlock()

	// Running tasks cost no goroutine: once the launches are through,
	// the agent is back to what it had before them.
	var extra int
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if extra = runtime.NumGoroutine() - idle; extra <= 2 {
			break
		}
	}
	if extra > 2 {
		t.Errorf("%d goroutines more than idle with %d tasks running", extra, n)
	}
	if _, err := os.Stat(filepath.Join(a.WorkDir(), "slaves")); !os.IsNotExist(err) {
		t.Errorf("simulated containers got sandboxes: %v", err)
	}

	for i := range n / 2 {
		a.KillTask(fw, mesos.TaskID{Value: fmt.Sprintf("t%d", i)}, nil)
	}
	for i := n / 2; i < n; i++ {
		a.ShutdownExecutor(fw, mesos.ExecutorID{Value: fmt.Sprintf("e%d", i)})
	}
	m.waitFor(t, "every task killed", func() bool { return countState(m.updates, mesos.TASK_KILLED) == n })
	m.waitFor(t, "shut down executors terminated", func() bool { return len(m.terminated) == n/2 })
	for exec, ws := range m.terminated {
		if ws != 0 {
			t.Errorf("executor %s ended with wait status %d, want 0", exec, ws)
		}
	}
}

func TestSimulatedContainerizerShapes(t *testing.T) {
	m := newFakeMaster(true)
	a := newTestAgent(t, m, func(c *Config) { c.Containerizer = NewSimulatedContainerizer() })
	fw := mesos.FrameworkID{Value: "fw-1"}

	t.Run("two tasks on one executor", func(t *testing.T) {
		exec := simulatedExecutor("shared")
		a.LaunchTask(testFramework(), testTask("s1", exec))
		a.LaunchTask(testFramework(), testTask("s2", exec))
		m.waitUpdate(t, "s1", mesos.TASK_RUNNING)
		m.waitUpdate(t, "s2", mesos.TASK_RUNNING)
		a.ShutdownExecutor(fw, exec.ExecutorID)
		m.waitUpdate(t, "s1", mesos.TASK_KILLED)
		m.waitUpdate(t, "s2", mesos.TASK_KILLED)
		if ws := m.waitTerminated(t, "shared"); ws != 0 {
			t.Errorf("wait status %d", ws)
		}
	})
	t.Run("command task runs until killed", func(t *testing.T) {
		a.LaunchTask(testFramework(), commandTask("c1", &mesos.CommandInfo{Value: strp("never run")}))
		m.waitUpdate(t, "c1", mesos.TASK_RUNNING)
		a.KillTask(fw, mesos.TaskID{Value: "c1"}, nil)
		m.waitUpdate(t, "c1", mesos.TASK_KILLED)
	})
	t.Run("agent close ends executors", func(t *testing.T) {
		a.LaunchTask(testFramework(), testTask("z1", simulatedExecutor("z")))
		m.waitUpdate(t, "z1", mesos.TASK_RUNNING)
		done := make(chan error, 1)
		go func() { done <- a.Close() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("agent close hangs on a simulated container")
		}
	})
}

func countState(us []mesos.TaskStatus, state mesos.TaskState) int {
	n := 0
	for _, u := range us {
		if u.GetState() == state {
			n++
		}
	}
	return n
}
