package scheduler

import (
	"strings"
	"testing"
	"time"

	"github.com/fob-project/fob/state"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// launchOne subscribes, launches one instance of f and returns its task id.
func (h *harness) launchOne(f *state.Function) string {
	h.t.Helper()
	h.putFunction(f)
	h.subscribe()
	if err := h.event(offersEvent(bigOffer("o-"+f.ID, "a1"))); err != nil {
		h.t.Fatal(err)
	}
	h.rec.take()
	ts := h.tasksOf(f.ID)
	if len(ts) != 1 {
		h.t.Fatalf("launched %d tasks", len(ts))
	}
	return ts[0].ID
}

func reason(r mesos.TaskStatus_Reason) *mesos.TaskStatus_Reason { return &r }

func TestUpdateIsPersistedBeforeAck(t *testing.T) {
	h := newHarness(t)
	id := h.launchOne(testFunction("f", 1))

	var stateAtAck state.TaskState
	h.rec.onCall = func(c *scheduler.Call) {
		if c.Type == scheduler.Call_ACKNOWLEDGE {
			stateAtAck = h.task(id).State
		}
	}
	if err := h.event(updateEvent(upd{task: id, agent: "a1", state: mesos.TASK_RUNNING, source: mesos.SOURCE_EXECUTOR, uuid: testUUID})); err != nil {
		t.Fatal(err)
	}
	acks := ofType(h.rec.take(), scheduler.Call_ACKNOWLEDGE)
	if len(acks) != 1 {
		t.Fatalf("acks = %d", len(acks))
	}
	a := acks[0].Acknowledge
	if a.TaskID.Value != id || a.AgentID.Value != "a1" || string(a.UUID) != string(testUUID) {
		t.Errorf("ack = %+v", a)
	}
	if stateAtAck != state.TaskRunning {
		t.Errorf("state at ACK time = %q, want running already recorded", stateAtAck)
	}
	if st := h.status("f"); st.Phase != state.PhaseRunning {
		t.Errorf("phase = %q", st.Phase)
	}
}

func TestUpdatesWithoutUUIDAreNotAcked(t *testing.T) {
	h := newHarness(t)
	id := h.launchOne(testFunction("f", 1))
	if err := h.event(updateEvent(upd{task: id, agent: "a1", state: mesos.TASK_RUNNING, source: mesos.SOURCE_MASTER,
		reason: reason(mesos.REASON_RECONCILIATION)})); err != nil {
		t.Fatal(err)
	}
	if acks := ofType(h.rec.take(), scheduler.Call_ACKNOWLEDGE); len(acks) != 0 {
		t.Fatalf("acked an update without uuid")
	}
	if got := h.task(id).State; got != state.TaskRunning {
		t.Errorf("state = %q", got)
	}
}

func TestDuplicateUpdatesAreIdempotent(t *testing.T) {
	h := newHarness(t)
	id := h.launchOne(testFunction("f", 1))
	u := updateEvent(upd{task: id, agent: "a1", state: mesos.TASK_RUNNING, source: mesos.SOURCE_EXECUTOR, uuid: testUUID})
	if err := h.event(u); err != nil {
		t.Fatal(err)
	}
	first := h.task(id)
	h.rec.take()
	h.clock.advance(time.Second)
	if err := h.event(u); err != nil {
		t.Fatal(err)
	}
	cs := h.rec.take()
	if got := types(cs); len(got) != 1 || got[0] != scheduler.Call_ACKNOWLEDGE {
		t.Errorf("calls for a duplicate = %v, want just the ACK again", got)
	}
	if again := h.task(id); again != first {
		t.Error("a duplicate update rewrote the task")
	}
	// A stale non-terminal update after the end changes nothing either.
	if err := h.event(updateEvent(upd{task: id, agent: "a1", state: mesos.TASK_FINISHED, source: mesos.SOURCE_EXECUTOR, uuid: testUUID})); err != nil {
		t.Fatal(err)
	}
	if err := h.event(updateEvent(upd{task: id, agent: "a1", state: mesos.TASK_RUNNING, source: mesos.SOURCE_EXECUTOR, uuid: testUUID})); err != nil {
		t.Fatal(err)
	}
	if got := h.task(id).State; got != state.TaskFinished {
		t.Errorf("state = %q, want finished to stick", got)
	}
}

func TestLoadErrorFailsTheVersion(t *testing.T) {
	h := newHarness(t)
	id := h.launchOne(testFunction("f", 1))
	const msg = "SyntaxError: invalid syntax (function.py, line 2)"
	if err := h.event(updateEvent(upd{task: id, agent: "a1", state: mesos.TASK_FAILED, source: mesos.SOURCE_EXECUTOR,
		message: msg, uuid: testUUID, loadFailure: true})); err != nil {
		t.Fatal(err)
	}
	st := h.status("f")
	if st.Phase != state.PhaseFailed || st.LastError != msg || st.Version != 1 {
		t.Fatalf("status = %+v", st)
	}
	if tk := h.task(id); tk.State != state.TaskFailed || tk.Message != msg {
		t.Errorf("task = %+v", tk)
	}
	cs := h.rec.take()
	if len(ofType(cs, scheduler.Call_REVIVE)) != 0 {
		t.Errorf("calls = %v: wants offers to relaunch code that cannot load", types(cs))
	}
	if err := h.event(offersEvent(bigOffer("o2", "a1"))); err != nil {
		t.Fatal(err)
	}
	if len(ofType(h.rec.take(), scheduler.Call_ACCEPT)) != 0 {
		t.Fatal("relaunched a version that failed to load")
	}

	// A new version starts afresh.
	h.putFunction(testFunction("f", 2))
	h.l.converge(t.Context())
	if st := h.status("f"); st.Phase != state.PhasePending || st.Version != 2 || st.LastError != "" {
		t.Errorf("status after new version = %+v", st)
	}
	if len(ofType(h.rec.take(), scheduler.Call_REVIVE)) != 1 {
		t.Error("no REVIVE for the new version")
	}
}

func TestFailuresBackOffAndCrashLoop(t *testing.T) {
	h := newHarness(t)
	id := h.launchOne(testFunction("f", 1))
	for i := 1; i <= crashLoopAfter; i++ {
		for _, s := range []mesos.TaskState{mesos.TASK_RUNNING, mesos.TASK_FAILED} {
			if err := h.event(updateEvent(upd{task: id, agent: "a1", state: s, source: mesos.SOURCE_AGENT,
				reason: reason(mesos.REASON_EXECUTOR_TERMINATED), message: "executor exited", uuid: testUUID})); err != nil {
				t.Fatal(err)
			}
		}
		st := h.status("f")
		if st.Failures != i {
			t.Fatalf("failures = %d, want %d", st.Failures, i)
		}
		hold := h.l.holds["f"].Sub(h.clock.now())
		full := relaunchBackoff.delay(i-1, nil)
		if hold > full || hold < full*7/10 {
			t.Errorf("failure %d: relaunch held %v, want about %v", i, hold, full)
		}
		// Offers during the hold launch nothing.
		if err := h.event(offersEvent(bigOffer("held", "a1"))); err != nil {
			t.Fatal(err)
		}
		if len(ofType(h.rec.take(), scheduler.Call_ACCEPT)) != 0 {
			t.Fatalf("failure %d: relaunched during backoff", i)
		}
		h.clock.advance(full)
		h.l.tick(t.Context())
		if len(ofType(h.rec.take(), scheduler.Call_REVIVE)) != 1 {
			t.Fatalf("failure %d: no REVIVE when the backoff ended", i)
		}
		if err := h.event(offersEvent(bigOffer("o", "a1"))); err != nil {
			t.Fatal(err)
		}
		acc := ofType(h.rec.take(), scheduler.Call_ACCEPT)
		if len(acc) != 1 {
			t.Fatalf("failure %d: no relaunch after backoff", i)
		}
		id = acc[0].Accept.Operations[0].Launch.TaskInfos[0].TaskID.Value
	}
	st := h.status("f")
	if st.Phase != state.PhaseCrashLooping || st.LastError == "" {
		t.Errorf("status = %+v, want crash-looping with an error", st)
	}
	// Ended tasks are pruned down to keepTerminal.
	ended := 0
	for _, tk := range h.tasksOf("f") {
		if tk.State.Terminal() {
			ended++
		}
	}
	if ended != keepTerminal {
		t.Errorf("%d ended tasks kept, want %d", ended, keepTerminal)
	}
}

// A late copy of an older update (a delayed STARTING after RUNNING) is
// acknowledged but does not move the task back.
func TestStaleUpdateDoesNotMoveBack(t *testing.T) {
	h := newHarness(t)
	id := h.launchOne(testFunction("f", 1))
	for _, s := range []mesos.TaskState{mesos.TASK_STARTING, mesos.TASK_RUNNING, mesos.TASK_STARTING, mesos.TASK_STAGING} {
		if err := h.event(updateEvent(upd{task: id, agent: "a1", state: s, source: mesos.SOURCE_EXECUTOR, uuid: testUUID})); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.task(id).State; got != state.TaskRunning {
		t.Errorf("state = %q, want running", got)
	}
	if acks := ofType(h.rec.take(), scheduler.Call_ACKNOWLEDGE); len(acks) != 4 {
		t.Errorf("acks = %d, want 4", len(acks))
	}
}

// A launch the master drops because its offer was rescinded meanwhile is
// no failure of the function: it is launched again at once.
func TestInvalidOfferIsNoFailure(t *testing.T) {
	h := newHarness(t)
	id := h.launchOne(testFunction("f", 1))
	if err := h.event(updateEvent(upd{task: id, agent: "a1", state: mesos.TASK_DROPPED, source: mesos.SOURCE_MASTER,
		reason: reason(mesos.REASON_INVALID_OFFERS), message: "Task launched with invalid offers"})); err != nil {
		t.Fatal(err)
	}
	if st := h.status("f"); st.Failures != 0 || st.Phase != state.PhasePending || st.LastError != "" {
		t.Errorf("status = %+v, want pending without failures", st)
	}
	if _, held := h.l.holds["f"]; held {
		t.Error("relaunch held back")
	}
	if err := h.event(offersEvent(bigOffer("o2", "a1"))); err != nil {
		t.Fatal(err)
	}
	if len(ofType(h.rec.take(), scheduler.Call_ACCEPT)) != 1 {
		t.Fatal("not launched again on the next offer")
	}
}

func TestKilledOnPurposeIsNoFailure(t *testing.T) {
	h := newHarness(t)
	id := h.launchOne(testFunction("f", 1))
	if err := h.event(updateEvent(upd{task: id, agent: "a1", state: mesos.TASK_RUNNING, source: mesos.SOURCE_EXECUTOR, uuid: testUUID})); err != nil {
		t.Fatal(err)
	}
	if err := h.store.DeleteFunction("f"); err != nil {
		t.Fatal(err)
	}
	h.l.converge(t.Context())
	if ks := ofType(h.rec.take(), scheduler.Call_KILL); len(ks) != 1 {
		t.Fatalf("kills = %d", len(ks))
	}
	if err := h.event(updateEvent(upd{task: id, agent: "a1", state: mesos.TASK_KILLED, source: mesos.SOURCE_EXECUTOR, uuid: testUUID})); err != nil {
		t.Fatal(err)
	}
	// The function is gone: its ended task and its status are forgotten.
	if ts := h.tasksOf("f"); len(ts) != 0 {
		t.Errorf("tasks of a deleted function: %+v", ts)
	}
	if _, err := h.store.Status(nil, "f"); err == nil {
		t.Error("status of a deleted function kept")
	}
}

func TestUnknownTasksAreKilled(t *testing.T) {
	h := newHarness(t)
	h.subscribe()
	if err := h.event(updateEvent(upd{task: "stranger", agent: "a9", state: mesos.TASK_RUNNING, source: mesos.SOURCE_MASTER,
		reason: reason(mesos.REASON_RECONCILIATION)})); err != nil {
		t.Fatal(err)
	}
	cs := h.rec.take()
	ks := ofType(cs, scheduler.Call_KILL)
	if len(ks) != 1 || ks[0].Kill.TaskID.Value != "stranger" || ks[0].Kill.GetAgentID().GetValue() != "a9" {
		t.Fatalf("calls = %v", types(cs))
	}
	if _, err := h.store.Task(nil, "stranger"); err == nil {
		t.Error("a stranger was recorded as fob's task")
	}
}

func TestReconciliation(t *testing.T) {
	h := newHarness(t)
	f := testFunction("f", 1)
	f.Instances = 2
	h.putFunction(f)
	h.putTask(&state.Task{ID: "t-run", FunctionID: "f", Version: 1, AgentID: "a1", State: state.TaskRunning})
	h.putTask(&state.Task{ID: "t-stage", FunctionID: "f", Version: 1, AgentID: "a2", State: state.TaskStaging})
	h.putTask(&state.Task{ID: "t-done", FunctionID: "f", Version: 1, AgentID: "a1", State: state.TaskFinished})

	if err := h.event(subscribedEvent("fw-1", 15)); err != nil {
		t.Fatal(err)
	}
	recs := ofType(h.rec.take(), scheduler.Call_RECONCILE)
	if len(recs) != 1 {
		t.Fatalf("reconciles = %d", len(recs))
	}
	asked := map[string]string{}
	for _, rt := range recs[0].Reconcile.Tasks {
		asked[rt.TaskID.Value] = rt.GetAgentID().GetValue()
	}
	if len(asked) != 2 || asked["t-run"] != "a1" || asked["t-stage"] != "a2" {
		t.Fatalf("explicit reconcile asked %v", asked)
	}

	// No answer: ask again after the backoff, about the same tasks.
	h.clock.advance(time.Second)
	h.l.tick(t.Context())
	recs = ofType(h.rec.take(), scheduler.Call_RECONCILE)
	if len(recs) != 1 || len(recs[0].Reconcile.Tasks) != 2 {
		t.Fatalf("retry = %+v", recs)
	}
	if want := h.clock.now().Add(2 * time.Second); !h.l.rec.next.Equal(want) {
		t.Errorf("next round at %v, want %v", h.l.rec.next, want)
	}

	// Answers: t-run still runs; t-stage is unknown to Mesos.
	if err := h.event(updateEvent(upd{task: "t-run", agent: "a1", state: mesos.TASK_RUNNING, source: mesos.SOURCE_MASTER,
		reason: reason(mesos.REASON_RECONCILIATION)})); err != nil {
		t.Fatal(err)
	}
	if len(ofType(h.rec.take(), scheduler.Call_RECONCILE)) != 0 {
		t.Fatal("reconciliation finished with an answer missing")
	}
	if err := h.event(updateEvent(upd{task: "t-stage", agent: "a2", state: mesos.TASK_GONE, source: mesos.SOURCE_MASTER,
		reason: reason(mesos.REASON_RECONCILIATION), message: "Reconciliation: Task is unknown"})); err != nil {
		t.Fatal(err)
	}
	cs := h.rec.take()
	recs = ofType(cs, scheduler.Call_RECONCILE)
	if len(recs) != 1 || len(recs[0].Reconcile.Tasks) != 0 {
		t.Fatalf("calls = %v, want the implicit reconcile", types(cs))
	}
	if len(ofType(cs, scheduler.Call_ACKNOWLEDGE)) != 0 {
		t.Error("acked a reconciliation answer")
	}
	if h.l.rec != nil {
		t.Error("reconciliation still running")
	}
	if got := h.task("t-stage").State; got != state.TaskGone {
		t.Errorf("t-stage = %q, want gone", got)
	}
	// A relaunch is wanted after the relaunch backoff.
	h.clock.advance(relaunchBackoff.max)
	h.l.tick(t.Context())
	if len(ofType(h.rec.take(), scheduler.Call_REVIVE)) != 1 {
		t.Error("no REVIVE to replace the lost task")
	}
	// The periodic reconciliation is scheduled.
	if want := h.clock.now().Add(reconcileEvery - relaunchBackoff.max); !h.l.nextReconcile.Equal(want) {
		t.Errorf("next reconciliation at %v, want %v", h.l.nextReconcile, want)
	}
}

func TestPartitionHealRevivesLostTask(t *testing.T) {
	h := newHarness(t)
	f := testFunction("f", 1)
	h.putFunction(f)
	h.putTask(&state.Task{ID: "t1", FunctionID: "f", Version: 1, AgentID: "a1", State: state.TaskLost})
	h.putTask(&state.Task{ID: "t2", FunctionID: "f", Version: 1, AgentID: "a2", State: state.TaskRunning,
		LaunchedAt: t0.Add(time.Hour)})
	h.subscribe()
	if err := h.event(updateEvent(upd{task: "t1", agent: "a1", state: mesos.TASK_RUNNING, source: mesos.SOURCE_MASTER,
		reason: reason(mesos.REASON_AGENT_REREGISTERED)})); err != nil {
		t.Fatal(err)
	}
	if got := h.task("t1").State; got != state.TaskRunning {
		t.Fatalf("t1 = %q, want running again", got)
	}
	ks := ofType(h.rec.take(), scheduler.Call_KILL)
	if len(ks) != 1 || ks[0].Kill.TaskID.Value != "t2" {
		t.Fatalf("kills = %+v, want the newer surplus copy t2", ks)
	}
}

// A failure before RUNNING that is not a load error (here: the port was
// taken) is retried with backoff instead of failing the version for good.
func TestStartFailureWithoutLoadLabelIsRetried(t *testing.T) {
	h := newHarness(t)
	id := h.launchOne(testFunction("f", 1))
	const msg = "serve calls: listen tcp 127.0.0.1:31000: bind: address already in use"
	if err := h.event(updateEvent(upd{task: id, agent: "a1", state: mesos.TASK_FAILED, source: mesos.SOURCE_EXECUTOR,
		message: msg, uuid: testUUID})); err != nil {
		t.Fatal(err)
	}
	st := h.status("f")
	if st.Phase == state.PhaseFailed {
		t.Fatalf("status = %+v: a start failure without the load label failed the version", st)
	}
	if !strings.Contains(st.LastError, "address already in use") || st.Failures != 1 {
		t.Fatalf("status = %+v", st)
	}
}
