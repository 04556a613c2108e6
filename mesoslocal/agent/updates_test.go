package agent

import (
	"bytes"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

type forwarded struct {
	mu   sync.Mutex
	sent []mesos.TaskStatus
	at   []time.Time
}

func (f *forwarded) record(st mesos.TaskStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, st)
	f.at = append(f.at, time.Now())
}

func (f *forwarded) snapshot() ([]mesos.TaskStatus, []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]mesos.TaskStatus(nil), f.sent...), append([]time.Time(nil), f.at...)
}

func (f *forwarded) waitLen(t *testing.T, n int) []mesos.TaskStatus {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if s, _ := f.snapshot(); len(s) >= n {
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
	s, _ := f.snapshot()
	t.Fatalf("forwarded %d updates, want %d", len(s), n)
	return nil
}

var testFW = mesos.FrameworkID{Value: "fw-1"}

// Conformance: 69, 70, 71, 73, 115
func TestUpdateManager(t *testing.T) {
	t.Run("one in flight, ordered, wrong ack ignored", func(t *testing.T) {
		f := &forwarded{}
		m := newUpdateManager(time.Hour, time.Hour, f.record)
		defer m.stop()
		running, finished := execStatus("t1", mesos.TASK_RUNNING), execStatus("t1", mesos.TASK_FINISHED)
		if !m.add(testFW, running) || !m.add(testFW, finished) {
			t.Fatal("fresh updates reported as duplicates")
		}
		if m.add(testFW, running) {
			t.Fatal("duplicate uuid accepted")
		}
		if s := f.waitLen(t, 1); len(s) != 1 || !bytes.Equal(s[0].UUID, running.UUID) {
			t.Fatalf("forwarded %d updates", len(s))
		}
		if ok, _ := m.ack(testFW, running.TaskID, finished.UUID); ok {
			t.Fatal("ack of an update not in flight accepted")
		}
		if ok, term := m.ack(testFW, running.TaskID, running.UUID); !ok || term {
			t.Fatalf("ack = %v, %v", ok, term)
		}
		s := f.waitLen(t, 2)
		if !bytes.Equal(s[1].UUID, finished.UUID) {
			t.Fatal("next update not forwarded after the ack")
		}
		if ok, term := m.ack(testFW, running.TaskID, finished.UUID); !ok || !term {
			t.Fatalf("terminal ack = %v, %v", ok, term)
		}
		if m.hasPending(testFW, running.TaskID) {
			t.Fatal("stream not closed after terminal ack")
		}
		if m.add(testFW, finished) {
			t.Fatal("update resent after the stream closed was forwarded again")
		}
	})
	t.Run("retry with doubling backoff up to the cap", func(t *testing.T) {
		f := &forwarded{}
		m := newUpdateManager(20*time.Millisecond, 80*time.Millisecond, f.record)
		defer m.stop()
		m.add(testFW, execStatus("t1", mesos.TASK_RUNNING))
		f.waitLen(t, 6)
		_, at := f.snapshot()
		gaps := []time.Duration{}
		for i := 1; i < 6; i++ {
			gaps = append(gaps, at[i].Sub(at[i-1]))
		}
		mins := []time.Duration{20, 40, 80, 80, 80}
		for i, g := range gaps {
			if g < mins[i]*time.Millisecond {
				t.Fatalf("retry %d after %v, want at least %v (gaps %v)", i+1, g, mins[i]*time.Millisecond, gaps)
			}
		}
		if gaps[4] > 400*time.Millisecond {
			t.Fatalf("backoff exceeds the cap: %v", gaps)
		}
	})
	t.Run("resend at once on framework reconnect", func(t *testing.T) {
		f := &forwarded{}
		m := newUpdateManager(time.Hour, time.Hour, f.record)
		defer m.stop()
		m.add(testFW, execStatus("t1", mesos.TASK_RUNNING))
		m.add(mesos.FrameworkID{Value: "other"}, execStatus("t2", mesos.TASK_RUNNING))
		f.waitLen(t, 2)
		m.resend(testFW)
		s := f.waitLen(t, 3)
		if s[2].TaskID.Value != "t1" {
			t.Fatalf("resent %s", s[2].TaskID.Value)
		}
	})
	t.Run("tasks are independent", func(t *testing.T) {
		f := &forwarded{}
		m := newUpdateManager(time.Hour, time.Hour, f.record)
		defer m.stop()
		m.add(testFW, execStatus("t1", mesos.TASK_RUNNING))
		m.add(testFW, execStatus("t2", mesos.TASK_RUNNING))
		f.waitLen(t, 2)
	})
}

// Conformance: 69, 70, 71, 73 (through the agent)
func TestAgentRetriesUntilAcknowledged(t *testing.T) {
	m := newFakeMaster(false)
	a := newTestAgent(t, m, func(c *Config) { c.UpdateRetryInitial = 50 * time.Millisecond })
	a.LaunchTask(testFramework(), commandTask("t1", &mesos.CommandInfo{Value: strp("true")}))
	m.waitFor(t, "STARTING resent", func() bool {
		n := 0
		for _, u := range m.updates {
			if u.GetState() == mesos.TASK_STARTING {
				n++
			}
		}
		return n >= 3
	})
	if m.count("t1", mesos.TASK_RUNNING) != 0 {
		t.Fatal("RUNNING forwarded before STARTING was acknowledged")
	}
	starting := m.waitUpdate(t, "t1", mesos.TASK_STARTING)
	a.Acknowledge(mesos.FrameworkID{Value: "fw-1"}, starting.TaskID, []byte("0123456789abcdef"))
	time.Sleep(100 * time.Millisecond)
	if m.count("t1", mesos.TASK_RUNNING) != 0 {
		t.Fatal("wrong-uuid ack advanced the stream")
	}
	a.Acknowledge(mesos.FrameworkID{Value: "fw-1"}, starting.TaskID, starting.UUID)
	running := m.waitUpdate(t, "t1", mesos.TASK_RUNNING)
	before := m.count("t1", mesos.TASK_RUNNING)
	a.FrameworkReconnected(mesos.FrameworkID{Value: "fw-1"})
	m.waitFor(t, "RUNNING resent on reconnect", func() bool {
		n := 0
		for _, u := range m.updates {
			if u.GetState() == mesos.TASK_RUNNING {
				n++
			}
		}
		return n > before
	})
	a.Acknowledge(mesos.FrameworkID{Value: "fw-1"}, running.TaskID, running.UUID)
	finished := m.waitUpdate(t, "t1", mesos.TASK_FINISHED)
	a.Acknowledge(mesos.FrameworkID{Value: "fw-1"}, finished.TaskID, finished.UUID)
	if a.updates.hasPending(mesos.FrameworkID{Value: "fw-1"}, finished.TaskID) {
		t.Fatal("task not forgotten after terminal ack")
	}
}
