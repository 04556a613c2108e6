package scheduler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/fob-project/fob/state"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// A batch of updates is recorded in one write before the first of them is
// acknowledged; the master's own updates are not acked, unknown tasks are
// killed, and each function is planned once.
func TestUpdateBatchIsDurableBeforeAnyAck(t *testing.T) {
	h := newHarness(t)
	f, g := testFunction("f", 1), testFunction("g", 1)
	h.putFunction(f)
	h.putFunction(g)
	h.subscribe()
	if err := h.event(offersEvent(bigOffer("o1", "a1"))); err != nil {
		t.Fatal(err)
	}
	h.rec.take()
	tf, tg := h.tasksOf("f")[0].ID, h.tasksOf("g")[0].ID

	statuses, _ := h.store.Watch(state.WatchStatuses)
	defer statuses.Close()
	var atFirstAck map[string]state.TaskState
	h.rec.onCall = func(c *scheduler.Call) {
		if c.Type == scheduler.Call_ACKNOWLEDGE && atFirstAck == nil {
			atFirstAck = map[string]state.TaskState{tf: h.task(tf).State, tg: h.task(tg).State}
		}
	}
	up := func(task string, s mesos.TaskState, uuid []byte) *scheduler.Event {
		return updateEvent(upd{task: task, agent: "a1", state: s, source: mesos.SOURCE_EXECUTOR, uuid: uuid})
	}
	evs := []*scheduler.Event{
		up(tf, mesos.TASK_STARTING, testUUID),
		up(tg, mesos.TASK_STARTING, testUUID),
		up(tf, mesos.TASK_RUNNING, testUUID),
		up("stranger", mesos.TASK_RUNNING, testUUID),
		up(tg, mesos.TASK_RUNNING, nil), // a master's update: no ack
	}
	if err := h.l.handleEvents(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	if atFirstAck[tf] != state.TaskRunning || atFirstAck[tg] != state.TaskRunning {
		t.Errorf("at the first ACK the store held %v, want the whole batch recorded", atFirstAck)
	}
	cs := h.rec.take()
	if acks := ofType(cs, scheduler.Call_ACKNOWLEDGE); len(acks) != 4 {
		t.Errorf("acks = %d, want 4", len(acks))
	}
	if kills := ofType(cs, scheduler.Call_KILL); len(kills) != 1 || kills[0].Kill.TaskID.Value != "stranger" {
		t.Errorf("kills = %v, want the unknown task", kills)
	}
	c := statuses.Take()
	if len(c.Statuses) != 2 || c.Statuses["f"].After.Phase != state.PhaseRunning || c.Statuses["g"].After.Phase != state.PhaseRunning {
		t.Errorf("status changes = %+v, want f and g running", c.Statuses)
	}
}

// A change to one function plans that function only: the statuses of the
// others are not even rewritten.
func TestFunctionChangePlansOnlyThatFunction(t *testing.T) {
	h := newHarness(t)
	for i := range 20 {
		h.putFunction(testFunction(fmt.Sprintf("f%02d", i), 1))
	}
	h.subscribe()
	statuses, _ := h.store.Watch(state.WatchStatuses)
	defer statuses.Close()
	h.putFunction(testFunction("f07", 2))
	h.l.convergeDirty(context.Background())
	c := statuses.Take()
	if len(c.Statuses) != 1 || c.Statuses["f07"].After.Version != 2 {
		t.Fatalf("status changes = %+v, want f07's only", c.Statuses)
	}
	if w := h.l.wants.byKey["f07"]; w == nil || w.w.fn.Version != 2 || h.l.wants.len() != 20 {
		t.Errorf("wants = %d, f07's %+v", h.l.wants.len(), w)
	}
}

// Whatever happens, planning only what changed leaves the loop where a
// full plan would: after each event a full plan wants the same instances
// and has nothing left to record or kill.
func TestDirtyConvergeMatchesFullPlan(t *testing.T) {
	for seed := range uint64(30) {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 5))
			h := newHarness(t)
			h.subscribe()
			ctx := context.Background()
			for step := range 150 {
				randomSchedulerEvent(t, r, h)
				h.l.convergeDirty(ctx)
				h.rec.take()
				p, err := h.l.plan()
				if err != nil {
					t.Fatal(err)
				}
				want := map[string]int{}
				for _, w := range p.wants {
					want[wantKey(w)] = w.count
				}
				got := map[string]int{}
				for _, w := range h.l.wants.list() {
					got[wantKey(w)] = w.count
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("step %d: wants %v, a full plan wants %v", step, got, want)
				}
				if len(p.statuses) > 0 || len(p.forget) > 0 || len(p.dropStatuses) > 0 {
					t.Fatalf("step %d: a full plan still records %d statuses, forgets %d tasks, drops %d statuses",
						step, len(p.statuses), len(p.forget), len(p.dropStatuses))
				}
				for _, k := range p.kills {
					if live(k.State) {
						t.Fatalf("step %d: task %s (%s) should be killed but is not marked", step, k.ID, k.State)
					}
				}
			}
		})
	}
}

// randomSchedulerEvent registers, changes or deletes a function, or feeds
// an offer or a status update of a random task.
func randomSchedulerEvent(t *testing.T, r *rand.Rand, h *harness) {
	t.Helper()
	id := fmt.Sprintf("f%d", r.IntN(5))
	switch r.IntN(8) {
	case 0:
		f := testFunction(id, 1)
		if old, err := h.store.Function(nil, id); err == nil {
			f = old.Copy()
			f.Version += uint64(r.IntN(2))
		}
		f.Instances = r.IntN(3)
		h.putFunction(f)
	case 1:
		if err := h.store.DeleteFunction(id); err != nil {
			t.Fatal(err)
		}
	case 2, 3:
		if err := h.event(offersEvent(bigOffer(fmt.Sprintf("o%d", r.Int()), "a1"))); err != nil {
			t.Fatal(err)
		}
	default:
		ts, err := h.store.Tasks(nil)
		if err != nil || len(ts) == 0 {
			return
		}
		tk := ts[r.IntN(len(ts))]
		states := []mesos.TaskState{mesos.TASK_STARTING, mesos.TASK_RUNNING, mesos.TASK_RUNNING, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_FINISHED}
		ev := updateEvent(upd{task: tk.ID, agent: "a1", state: states[r.IntN(len(states))], source: mesos.SOURCE_EXECUTOR,
			uuid: testUUID, message: fmt.Sprint(r.IntN(3))})
		if err := h.event(ev); err != nil {
			t.Fatal(err)
		}
	}
	h.clock.advance(time.Duration(r.IntN(3000)) * time.Millisecond)
}
