package master

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// launchOne subscribes nothing new: it takes the next offer of s and
// launches a 1-cpu command task with the given id on a.
func launchOne(t *testing.T, s *sched, a *fakeAgent, id string) {
	t.Helper()
	o := s.offer()
	s.mustCall(calls.Accept(calls.OfferOperations{calls.OpLaunch(newTask(id, a.info.ID.Value, "cpus:1;mem:64"))}.WithOffers(o.ID)).
		With(calls.RefuseSeconds(0)))
	a.waitCall(t, "launch")
}

func agentStatus(id string, state mesos.TaskState, uuid byte) mesos.TaskStatus {
	src := mesos.SOURCE_EXECUTOR
	return mesos.TaskStatus{
		TaskID:     mesos.TaskID{Value: id},
		State:      state.Enum(),
		Source:     &src,
		ExecutorID: &mesos.ExecutorID{Value: id},
		UUID:       bytes.Repeat([]byte{uuid}, 16),
	}
}

// Conformance: 66, 67, 72, 74, 78, 79, 84, 85, 86, 87
func TestUpdatesAcksKillReconcile(t *testing.T) {
	for _, mt := range codecsUnderTest {
		for _, pa := range []bool{false, true} {
			var caps []mesos.FrameworkInfo_Capability_Type
			gone, unknown := mesos.TASK_LOST, mesos.TASK_LOST
			if pa {
				caps = []mesos.FrameworkInfo_Capability_Type{mesos.FrameworkInfo_Capability_PARTITION_AWARE}
				gone, unknown = mesos.TASK_GONE, mesos.TASK_UNKNOWN
			}
			t.Run(fmt.Sprintf("%s/partition_aware=%v", mt, pa), func(t *testing.T) {
				h := newHarness(t)
				a := h.addAgent(agentRes)
				agent := a.info.ID.Value
				s := h.subscribe(mt, frameworkInfo(caps...))
				launchOne(t, s, a, "t1")

				// Agent updates are forwarded with uuid, agent and executor ids.
				h.m.StatusUpdate(*a.info.ID, agentStatus("t1", mesos.TASK_RUNNING, 1))
				st := s.update()
				if st.GetState() != mesos.TASK_RUNNING || len(st.UUID) != 16 || st.AgentID.GetValue() != agent ||
					st.ExecutorID.GetValue() != "t1" || st.Timestamp == nil {
					t.Fatalf("forwarded %v", st)
				}
				s.mustCall(calls.Acknowledge(agent, "t1", st.UUID))
				if c := a.waitCall(t, "ack"); c.taskID != "t1" || !bytes.Equal(c.uuid, st.UUID) {
					t.Fatalf("ack %+v", c)
				}
				// An ACK naming an unknown agent is dropped with 202.
				s.mustCall(calls.Acknowledge("nope", "t1", st.UUID))

				// Explicit reconciliation of the known task: latest state.
				s.mustCall(calls.Reconcile(calls.ReconcileTasks(map[string]string{"t1": agent})))
				if st := s.update(); st.GetState() != mesos.TASK_RUNNING || st.GetReason() != mesos.REASON_RECONCILIATION ||
					len(st.UUID) != 0 || st.GetSource() != mesos.SOURCE_MASTER {
					t.Fatalf("reconciled %v", st)
				}
				// KILL with the wrong agent is ignored; the right one reaches the agent.
				s.mustCall(calls.Kill("t1", "other-agent"))
				s.mustCall(calls.Kill("t1", agent))
				if c := a.waitCall(t, "kill"); c.taskID != "t1" {
					t.Fatalf("kill %+v", c)
				}
				if a.hasCall("kill") {
					t.Fatal("kill with mismatching agent id reached the agent")
				}
				// Terminal update, ACKed: the task is forgotten.
				h.m.StatusUpdate(*a.info.ID, agentStatus("t1", mesos.TASK_KILLED, 2))
				st = s.update()
				s.mustCall(calls.Acknowledge(agent, "t1", st.UUID))
				a.waitCall(t, "ack")
				s.mustCall(calls.Reconcile())
				s.none(scheduler.Event_UPDATE, 100*time.Millisecond)

				// Unknown tasks: registered agent, unknown agent, no agent.
				for _, tc := range []struct {
					agent string
					want  mesos.TaskState
				}{{agent, gone}, {"unknown-agent", unknown}, {"", unknown}} {
					s.mustCall(calls.Reconcile(calls.ReconcileTasks(map[string]string{"t1": tc.agent})))
					if st := s.update(); st.GetState() != tc.want || len(st.UUID) != 0 {
						t.Fatalf("reconcile on %q: %v, want %s", tc.agent, st, tc.want)
					}
				}
				// KILL of an unknown task answers like reconciliation.
				s.mustCall(calls.Kill("ghost", agent))
				if st := s.update(); st.GetState() != gone || st.TaskID.Value != "ghost" {
					t.Fatalf("kill unknown: %v", st)
				}
			})
		}
	}
}

// Conformance: 82, 119
func TestExecutorMessagesAndFailure(t *testing.T) {
	h := newHarness(t)
	a := h.addAgent(agentRes)
	s := h.subscribe(mediaProtobuf, frameworkInfo())
	fid := mesos.FrameworkID{Value: s.id}
	s.mustCall(calls.Message(a.info.ID.Value, "e1", []byte("ping")))
	if c := a.waitCall(t, "message"); c.exec != "e1" || string(c.data) != "ping" {
		t.Fatalf("message %+v", c)
	}
	h.m.ExecutorMessage(fid, *a.info.ID, mesos.ExecutorID{Value: "e1"}, []byte("pong"))
	if ev := s.next(scheduler.Event_MESSAGE); string(ev.Message.Data) != "pong" || ev.Message.ExecutorID.Value != "e1" {
		t.Fatalf("message event %v", ev)
	}
	s.mustCall(calls.Shutdown("e1", a.info.ID.Value))
	a.waitCall(t, "shutdown_executor")
	h.m.ExecutorTerminated(fid, *a.info.ID, mesos.ExecutorID{Value: "e1"}, 9)
	ev := s.next(scheduler.Event_FAILURE)
	if ev.Failure.AgentID.GetValue() != a.info.ID.Value || ev.Failure.ExecutorID.GetValue() != "e1" || ev.Failure.GetStatus() != 9 {
		t.Fatalf("failure %v", ev.Failure)
	}
}

// Conformance: 83, 16, 96
func TestTeardown(t *testing.T) {
	h := newHarness(t)
	a := h.addAgent(agentRes)
	s := h.subscribe(mediaJSON, frameworkInfo())
	launchOne(t, s, a, "t1")
	s.mustCall(&scheduler.Call{Type: scheduler.Call_TEARDOWN})
	if c := a.waitCall(t, "shutdown_framework"); c.fw != s.id {
		t.Fatalf("shutdown %+v", c)
	}
	for range s.events {
		// drain until the master closes the stream
	}
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	if !h.m.removed[s.id] || len(h.m.tasks) != 0 {
		t.Fatalf("framework not removed: removed=%v tasks=%d", h.m.removed[s.id], len(h.m.tasks))
	}
}

// Conformance: 46, 73, 92, 93, 94, 95, 96
func TestFailoverAndDisconnect(t *testing.T) {
	for _, mt := range codecsUnderTest {
		t.Run(mt, func(t *testing.T) {
			h := newHarness(t)
			a := h.addAgent(agentRes)
			fi := frameworkInfo()
			fi.FailoverTimeout = ptr(0.3)
			first := h.subscribe(mt, fi)
			old := first.offer()
			a.waitCall(t, "reconnected")

			// Scheduler failover: same id on a new connection.
			fi.ID = &mesos.FrameworkID{Value: first.id}
			second := h.subscribe(mt, fi)
			if second.id != first.id {
				t.Fatalf("failover changed id %s -> %s", first.id, second.id)
			}
			if ev := first.next(scheduler.Event_ERROR); ev.Error.Message != "Framework failed over" {
				t.Fatalf("old stream got %v", ev.Error)
			}
			a.waitCall(t, "reconnected") // agents resend pending updates
			// The old stream id is refused now; offers are fresh.
			if err := first.call(calls.Revive()); err == nil {
				t.Fatal("call on superseded stream succeeded")
			}
			if o := second.offer(); o.ID == old.ID {
				t.Fatal("offer survived failover")
			}

			// Broken connection: inactive, 403, then removal after the timeout.
			h.m.DropStream(mesos.FrameworkID{Value: second.id})
			waitFor(t, func() bool {
				h.m.mu.Lock()
				defer h.m.mu.Unlock()
				fw := h.m.frameworks[second.id]
				return fw != nil && !fw.connected()
			})
			resp := h.rawPost("POST", mediaJSON, "", "x", encodeCall(t, mediaJSON, calls.Revive().With(calls.Framework(second.id))))
			resp.Body.Close()
			if resp.StatusCode != 403 {
				t.Fatalf("call while disconnected: %d", resp.StatusCode)
			}
			if len(h.m.Offers(mesos.FrameworkID{Value: second.id})) != 0 {
				t.Fatal("offers kept while disconnected")
			}
			if c := a.waitCall(t, "shutdown_framework"); c.fw != second.id {
				t.Fatalf("shutdown %+v", c)
			}
			resp = h.rawPost("POST", mediaJSON, mediaJSON, "", encodeCall(t, mediaJSON, calls.Subscribe(fi)))
			defer resp.Body.Close()
			ev, err := recordReaderFor(resp).next()
			if err != nil || !bytes.Contains(ev, []byte("Framework has been removed")) {
				t.Fatalf("re-subscribe after expiry: %s %v", ev, err)
			}
		})
	}
}

// Conformance: 95
func TestResubscribeWithinFailoverTimeoutKeepsTasks(t *testing.T) {
	h := newHarness(t)
	a := h.addAgent(agentRes)
	fi := frameworkInfo()
	fi.FailoverTimeout = ptr(60.0)
	s := h.subscribe(mediaJSON, fi)
	launchOne(t, s, a, "t1")
	if err := h.m.DropStream(mesos.FrameworkID{Value: s.id}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		h.m.mu.Lock()
		defer h.m.mu.Unlock()
		return !h.m.frameworks[s.id].connected()
	})
	fi.ID = &mesos.FrameworkID{Value: s.id}
	again := h.subscribe(mediaJSON, fi)
	again.mustCall(calls.Reconcile())
	if st := again.update(); st.TaskID.Value != "t1" || st.GetState() != mesos.TASK_STAGING {
		t.Fatalf("task not kept: %v", st)
	}
	if a.hasCall("shutdown_framework") {
		t.Fatal("framework shut down within failover timeout")
	}
}
