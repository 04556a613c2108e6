package agent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	mesostime "github.com/mesos/mesos-go/api/v1/lib/time"
)

// Conformance: 66, 109, 111, 114, 118 (clean exit), 122
func TestRealExecutorRunsTask(t *testing.T) {
	for _, codec := range []string{"json", "protobuf"} {
		t.Run(codec, func(t *testing.T) {
			m := newFakeMaster(true)
			a := newTestAgent(t, m, nil)
			fw := testFramework()
			fw.Checkpoint = boolp(true)
			a.LaunchTask(fw, testTask("t1", testExecutorInfo(t, "e1", "finish", codec)))

			for _, state := range []mesos.TaskState{mesos.TASK_RUNNING, mesos.TASK_FINISHED} {
				st := m.waitUpdate(t, "t1", state)
				if len(st.UUID) != 16 || st.GetAgentID().GetValue() != "agent-1" || st.GetExecutorID().GetValue() != "e1" ||
					st.Timestamp == nil || st.GetSource() != mesos.SOURCE_EXECUTOR {
					t.Fatalf("%s update lacks fields: %+v", state, st)
				}
			}
			if ws := m.waitTerminated(t, "e1"); ws != 0 {
				t.Fatalf("executor wait status %d", ws)
			}
			sandboxes, _ := filepath.Glob(filepath.Join(a.WorkDir(), "slaves", "agent-1", "frameworks", "fw-1", "executors", "e1", "runs", "*"))
			if len(sandboxes) != 1 {
				t.Fatalf("sandboxes: %v", sandboxes)
			}
			raw, err := os.ReadFile(filepath.Join(sandboxes[0], "env.json"))
			if err != nil {
				t.Fatal(err)
			}
			var rec struct {
				Cwd string
				Env []string
			}
			if err := json.Unmarshal(raw, &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Cwd != sandboxes[0] {
				t.Fatalf("executor ran in %s, want the sandbox %s", rec.Cwd, sandboxes[0])
			}
			env := map[string]string{}
			for _, kv := range rec.Env {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
			want := map[string]string{
				"MESOS_FRAMEWORK_ID":                   "fw-1",
				"MESOS_EXECUTOR_ID":                    "e1",
				"MESOS_AGENT_ENDPOINT":                 a.Endpoint(),
				"MESOS_DIRECTORY":                      sandboxes[0],
				"MESOS_SANDBOX":                        sandboxes[0],
				"MESOS_CHECKPOINT":                     "1",
				"MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD": "2secs",
				"MESOS_RECOVERY_TIMEOUT":               "15mins",
				"MESOS_SUBSCRIPTION_BACKOFF_MAX":       "2secs",
				"MESOS_SLAVE_ID":                       "agent-1",
				"MESOS_HTTP_COMMAND_EXECUTOR":          "0",
				"TEST_EXEC_MODE":                       "finish",
			}
			for k, v := range want {
				if env[k] != v {
					t.Errorf("%s=%q, want %q", k, env[k], v)
				}
			}
			if _, ok := env["PATH"]; !ok {
				t.Error("agent environment not inherited")
			}
			if out, _ := os.ReadFile(filepath.Join(sandboxes[0], "stdout")); !strings.Contains(string(out), "event SUBSCRIBED") {
				t.Errorf("executor stdout not captured: %q", out)
			}
		})
	}
}

// Conformance: 82, 118
func TestExecutorCrashFailsTasks(t *testing.T) {
	m := newFakeMaster(true)
	a := newTestAgent(t, m, nil)
	a.LaunchTask(testFramework(), testTask("t1", testExecutorInfo(t, "e1", "crash", "protobuf")))
	m.waitUpdate(t, "t1", mesos.TASK_RUNNING)
	failed := m.waitUpdate(t, "t1", mesos.TASK_FAILED)
	if failed.GetReason() != mesos.REASON_EXECUTOR_TERMINATED || failed.GetSource() != mesos.SOURCE_AGENT || len(failed.UUID) != 16 {
		t.Fatalf("crash update: %+v", failed)
	}
	ws := syscall.WaitStatus(m.waitTerminated(t, "e1"))
	if !ws.Exited() || ws.ExitStatus() != 3 {
		t.Fatalf("wait status %v", ws)
	}
}

// Conformance: 76, 77
func TestKillTask(t *testing.T) {
	t.Run("before delivery", func(t *testing.T) {
		m := newFakeMaster(false)
		a := newTestAgent(t, m, nil)
		a.LaunchTask(testFramework(), testTask("t1", sleepExecutorInfo("e1")))
		waitExecutorState(t, a, "e1", executorRegistering)
		a.KillTask(mesos.FrameworkID{Value: "fw-1"}, mesos.TaskID{Value: "t1"}, nil)
		st := m.waitUpdate(t, "t1", mesos.TASK_KILLED)
		if st.GetReason() != mesos.REASON_TASK_KILLED_DURING_LAUNCH || st.GetSource() != mesos.SOURCE_AGENT {
			t.Fatalf("kill update: %+v", st)
		}
		// The executor, left with nothing to run, is told to shut down.
		es := newRawClient(t, a, mediaJSON, "e1").subscribe(nil)
		es.expect(executor.Event_SUBSCRIBED)
		es.expect(executor.Event_SHUTDOWN)
	})
	t.Run("delivered", func(t *testing.T) {
		m := newFakeMaster(false)
		a := newTestAgent(t, m, nil)
		a.LaunchTask(testFramework(), testTask("t1", sleepExecutorInfo("e1")))
		waitExecutorState(t, a, "e1", executorRegistering)
		es := newRawClient(t, a, mediaProtobuf, "e1").subscribe(nil)
		es.expect(executor.Event_SUBSCRIBED)
		es.expect(executor.Event_LAUNCH)
		policy := &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: int64(2 * time.Second)}}
		a.KillTask(mesos.FrameworkID{Value: "fw-1"}, mesos.TaskID{Value: "t1"}, policy)
		kill := es.expect(executor.Event_KILL).Kill
		if kill.TaskID.Value != "t1" || kill.GetKillPolicy().GetGracePeriod().GetNanoseconds() != int64(2*time.Second) {
			t.Fatalf("KILL %+v", kill)
		}
	})
	t.Run("real executor", func(t *testing.T) {
		m := newFakeMaster(true)
		a := newTestAgent(t, m, nil)
		a.LaunchTask(testFramework(), testTask("t1", testExecutorInfo(t, "e1", "run", "json")))
		m.waitUpdate(t, "t1", mesos.TASK_RUNNING)
		a.KillTask(mesos.FrameworkID{Value: "fw-1"}, mesos.TaskID{Value: "t1"}, nil)
		if st := m.waitUpdate(t, "t1", mesos.TASK_KILLED); st.GetSource() != mesos.SOURCE_EXECUTOR {
			t.Fatalf("kill answered by %s", st.GetSource())
		}
	})
}

// Conformance: 81
func TestShutdownExecutor(t *testing.T) {
	t.Run("cooperative", func(t *testing.T) {
		m := newFakeMaster(true)
		a := newTestAgent(t, m, nil)
		a.LaunchTask(testFramework(), testTask("t1", testExecutorInfo(t, "e1", "run", "protobuf")))
		m.waitUpdate(t, "t1", mesos.TASK_RUNNING)
		a.ShutdownExecutor(mesos.FrameworkID{Value: "fw-1"}, mesos.ExecutorID{Value: "e1"})
		m.waitUpdate(t, "t1", mesos.TASK_KILLED)
		if ws := m.waitTerminated(t, "e1"); ws != 0 {
			t.Fatalf("wait status %d", ws)
		}
	})
	t.Run("destroyed after grace period", func(t *testing.T) {
		m := newFakeMaster(true)
		a := newTestAgent(t, m, func(c *Config) { c.ShutdownGracePeriod = 300 * time.Millisecond })
		a.LaunchTask(testFramework(), testTask("t1", testExecutorInfo(t, "e1", "ignore-shutdown", "json")))
		m.waitUpdate(t, "t1", mesos.TASK_RUNNING)
		pidFile := waitForFile(t, a, "e1", "child.pid")
		start := time.Now()
		a.ShutdownExecutor(mesos.FrameworkID{Value: "fw-1"}, mesos.ExecutorID{Value: "e1"})
		st := m.waitUpdate(t, "t1", mesos.TASK_FAILED)
		if st.GetReason() != mesos.REASON_EXECUTOR_TERMINATED || st.GetSource() != mesos.SOURCE_AGENT {
			t.Fatalf("shutdown update: %+v", st)
		}
		if time.Since(start) < 300*time.Millisecond {
			t.Fatal("destroyed before the grace period")
		}
		if ws := syscall.WaitStatus(m.waitTerminated(t, "e1")); !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("wait status %v", ws)
		}
		// The executor's own child went with it (same process group).
		raw, _ := os.ReadFile(pidFile)
		pid, _ := strconv.Atoi(string(raw))
		waitProcessGone(t, pid)
	})
}

// Conformance: 117
func TestRegistrationTimeout(t *testing.T) {
	m := newFakeMaster(false)
	a := newTestAgent(t, m, func(c *Config) { c.RegistrationTimeout = 300 * time.Millisecond })
	a.LaunchTask(testFramework(), testTask("t1", sleepExecutorInfo("e1")))
	st := m.waitUpdate(t, "t1", mesos.TASK_FAILED)
	if st.GetReason() != mesos.REASON_EXECUTOR_REGISTRATION_TIMEOUT || st.GetSource() != mesos.SOURCE_AGENT {
		t.Fatalf("timeout update: %+v", st)
	}
	m.waitTerminated(t, "e1")
}

func TestShutdownFramework(t *testing.T) {
	m := newFakeMaster(false)
	a := newTestAgent(t, m, nil)
	a.LaunchTask(testFramework(), testTask("t1", testExecutorInfo(t, "e1", "run", "json")))
	m.waitUpdate(t, "t1", mesos.TASK_RUNNING)
	a.ShutdownFramework(mesos.FrameworkID{Value: "fw-1"})
	m.waitTerminated(t, "e1")
	a.mu.Lock()
	n := len(a.frameworks)
	a.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d frameworks left", n)
	}
	if m.count("t1", mesos.TASK_KILLED)+m.count("t1", mesos.TASK_FAILED) != 0 {
		t.Fatal("updates of a removed framework reached the master")
	}
}

func TestFormatMesosDuration(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{5 * time.Second, "5secs"},
		{15 * time.Minute, "15mins"},
		{1500 * time.Millisecond, "1.5secs"},
		{250 * time.Millisecond, "250ms"},
		{2 * time.Hour, "2hrs"},
		{48 * time.Hour, "2days"},
		{14 * 24 * time.Hour, "2weeks"},
		{3 * time.Microsecond, "3us"},
		{7, "7ns"},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			got := formatMesosDuration(tc.in)
			if got != tc.want {
				t.Fatalf("got %q", got)
			}
			back, err := mesostime.ParseDuration(got)
			if err != nil || back != tc.in {
				t.Fatalf("mesos-go parses %q as %v, %v", got, back, err)
			}
		})
	}
}

func waitForFile(t *testing.T, a *Agent, exec, name string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		matches, _ := filepath.Glob(filepath.Join(a.WorkDir(), "slaves", "*", "frameworks", "*", "executors", exec, "runs", "*", name))
		if len(matches) > 0 {
			if b, _ := os.ReadFile(matches[0]); len(b) > 0 {
				return matches[0]
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", name)
	return ""
}

// waitProcessGone waits until pid no longer runs (gone or a zombie whose
// parent is not reaping it).
func waitProcessGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return
		}
		if f := strings.Fields(string(stat)); len(f) > 2 && slices.Contains([]string{"Z", "X"}, f[2]) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("process %d still running", pid)
}
