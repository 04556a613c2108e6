package scheduler

import (
	"errors"
	"testing"
	"time"

	fobpb "github.com/fob-project/fob/proto"
	"github.com/fob-project/fob/state"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

func TestSubscribedPersistsIDAndPacesOffers(t *testing.T) {
	tests := []struct {
		name      string
		functions []*state.Function
		want      []scheduler.Call_Type
	}{
		// No tasks: the reconciliation is implicit at once.
		{"idle", nil, []scheduler.Call_Type{scheduler.Call_RECONCILE, scheduler.Call_SUPPRESS}},
		{"function wanted", []*state.Function{testFunction("f", 1)}, []scheduler.Call_Type{scheduler.Call_RECONCILE, scheduler.Call_REVIVE}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			for _, f := range tt.functions {
				h.putFunction(f)
			}
			if err := h.event(subscribedEvent("fw-1", 2)); err != nil {
				t.Fatal(err)
			}
			if id, _ := h.store.FrameworkID(); id != "fw-1" {
				t.Errorf("stored framework id = %q", id)
			}
			if h.l.heartbeat != 2*time.Second {
				t.Errorf("heartbeat = %v", h.l.heartbeat)
			}
			cs := h.rec.take()
			got := types(cs)
			if len(got) != len(tt.want) {
				t.Fatalf("calls = %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("calls = %v, want %v", got, tt.want)
				}
				if cs[i].GetFrameworkID().GetValue() != "fw-1" {
					t.Errorf("%s without framework id", got[i])
				}
			}
			if r := cs[0].Reconcile; r == nil || len(r.Tasks) != 0 {
				t.Errorf("reconcile = %+v, want implicit", r)
			}
		})
	}
}

func TestNoCallsBeforeSubscribed(t *testing.T) {
	h := newHarness(t)
	h.putFunction(testFunction("f", 1))
	if err := h.event(offersEvent(bigOffer("o1", "a1"))); err != nil {
		t.Fatal(err)
	}
	if cs := h.rec.take(); len(cs) != 0 {
		t.Fatalf("calls before SUBSCRIBED: %v", types(cs))
	}
}

func TestOffersLaunchRecordsTaskBeforeAccept(t *testing.T) {
	h := newHarness(t)
	f := testFunction("f", 4)
	f.Instances = 2
	h.putFunction(f)
	h.subscribe()

	var recordedAtAccept int
	h.rec.onCall = func(c *scheduler.Call) {
		if c.Type == scheduler.Call_ACCEPT {
			recordedAtAccept = len(h.tasksOf("f"))
		}
	}
	if err := h.event(offersEvent(bigOffer("o1", "a1"))); err != nil {
		t.Fatal(err)
	}
	cs := h.rec.take()
	accepts := ofType(cs, scheduler.Call_ACCEPT)
	if len(accepts) != 1 {
		t.Fatalf("calls = %v, want one ACCEPT", types(cs))
	}
	if recordedAtAccept != 2 {
		t.Errorf("%d tasks recorded when ACCEPT was sent, want 2", recordedAtAccept)
	}
	a := accepts[0].Accept
	if len(a.OfferIDs) != 1 || a.OfferIDs[0].Value != "o1" {
		t.Errorf("offer ids = %v", a.OfferIDs)
	}
	if a.Filters.GetRefuseSeconds() < refuseFor.Seconds() {
		t.Errorf("refuse seconds = %v", a.Filters.GetRefuseSeconds())
	}
	if len(a.Operations) != 1 || a.Operations[0].Type != mesos.Offer_Operation_LAUNCH {
		t.Fatalf("operations = %+v", a.Operations)
	}
	infos := a.Operations[0].Launch.TaskInfos
	if len(infos) != 2 {
		t.Fatalf("launched %d tasks, want 2", len(infos))
	}
	seen := map[uint32]bool{}
	for _, ti := range infos {
		task := h.task(ti.TaskID.Value)
		var spec fobpb.FunctionSpec
		if err := spec.Unmarshal(ti.Data); err != nil {
			t.Fatal(err)
		}
		if task.State != state.TaskStaging || task.AgentID != "a1" || task.Host != "host-a1" ||
			task.Version != 4 || task.Port != spec.Port || task.Secret != spec.Secret || task.Secret == "" ||
			task.ExecutorID != ti.TaskID.Value {
			t.Errorf("recorded task %+v does not match the launch (spec %+v)", task, spec)
		}
		if seen[task.Port] {
			t.Errorf("port %d used twice", task.Port)
		}
		seen[task.Port] = true
	}
	// Satisfied: offers are suppressed.
	if got := types(cs); got[len(got)-1] != scheduler.Call_SUPPRESS {
		t.Errorf("calls = %v, want SUPPRESS last", got)
	}
}

func TestOffersThatDoNotFitAreDeclined(t *testing.T) {
	h := newHarness(t)
	f := testFunction("f", 1)
	f.Limits.MemoryMB = 8192
	h.putFunction(f)
	h.subscribe()
	if err := h.event(offersEvent(bigOffer("o1", "a1"), bigOffer("o2", "a2"))); err != nil {
		t.Fatal(err)
	}
	cs := h.rec.take()
	if len(ofType(cs, scheduler.Call_ACCEPT)) != 0 {
		t.Fatalf("accepted an offer that does not fit: %v", types(cs))
	}
	d := ofType(cs, scheduler.Call_DECLINE)
	if len(d) != 1 || len(d[0].Decline.OfferIDs) != 2 {
		t.Fatalf("calls = %v, want one DECLINE of both offers", types(cs))
	}
	if s := d[0].Decline.Filters.GetRefuseSeconds(); s < refuseFor.Seconds() || s >= (refuseFor+refuseJitter).Seconds() {
		t.Errorf("refuse seconds = %v", s)
	}
	if len(h.tasksOf("f")) != 0 {
		t.Error("tasks recorded without a launch")
	}
}

func TestReviveIsPacedWhileWanting(t *testing.T) {
	h := newHarness(t)
	f := testFunction("f", 1)
	f.Limits.MemoryMB = 8192
	h.putFunction(f)
	h.subscribe() // sent the first REVIVE
	if got := h.l.nextWake(); !got.Equal(h.clock.now().Add(time.Second)) {
		t.Fatalf("next wake %v, want a REVIVE in 1s", got)
	}
	revives := 0
	for i := 0; i < 10; i++ {
		h.clock.advance(500 * time.Millisecond)
		h.l.tick(t.Context())
		revives += len(ofType(h.rec.take(), scheduler.Call_REVIVE))
	}
	// Backoff 1s, 2s: within 5 s two more REVIVEs, not ten.
	if revives != 2 {
		t.Errorf("%d REVIVEs in 5s, want 2", revives)
	}
}

func TestCallFailureDropsSubscription(t *testing.T) {
	h := newHarness(t)
	h.putFunction(testFunction("f", 1))
	h.subscribe()
	h.rec.fail = map[scheduler.Call_Type]error{scheduler.Call_ACCEPT: errors.New("boom")}
	if err := h.event(offersEvent(bigOffer("o1", "a1"))); err != nil {
		t.Fatal(err)
	}
	if h.dropped != 1 || h.l.subscribed {
		t.Fatalf("dropped = %d subscribed = %v", h.dropped, h.l.subscribed)
	}
	h.rec.take()
	// Nothing more is sent on the broken subscription.
	if err := h.event(offersEvent(bigOffer("o2", "a1"))); err != nil {
		t.Fatal(err)
	}
	if cs := h.rec.take(); len(cs) != 0 {
		t.Errorf("calls after drop: %v", types(cs))
	}
	// The task stays recorded for reconciliation to settle.
	if ts := h.tasksOf("f"); len(ts) != 1 || ts[0].State != state.TaskStaging {
		t.Errorf("tasks = %+v", ts)
	}
}

func TestHeartbeatWatchdog(t *testing.T) {
	h := newHarness(t)
	if err := h.event(subscribedEvent("fw-1", 1)); err != nil {
		t.Fatal(err)
	}
	h.clock.advance(4 * time.Second)
	if err := h.event(&scheduler.Event{Type: scheduler.Event_HEARTBEAT}); err != nil {
		t.Fatal(err)
	}
	h.clock.advance(4 * time.Second)
	h.l.tick(t.Context())
	if h.dropped != 0 {
		t.Fatal("dropped although a heartbeat arrived in time")
	}
	if want := h.clock.now().Add(time.Second); !h.l.nextWake().Equal(want) {
		t.Errorf("next wake %v, want %v", h.l.nextWake(), want)
	}
	h.clock.advance(time.Second)
	h.l.tick(t.Context())
	if h.dropped != 1 {
		t.Fatal("not dropped after five silent heartbeat intervals")
	}
}

func TestErrorEvents(t *testing.T) {
	tests := []struct {
		name      string
		message   string
		wantFatal bool
		wantID    string
	}{
		{"failed over", "Framework failed over", true, "fw-1"},
		{"removed", "Framework has been removed", false, ""},
		{"other", "Role 'x' is not present in the master's --roles", false, "fw-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.subscribe()
			err := h.event(&scheduler.Event{Type: scheduler.Event_ERROR, Error: &scheduler.Event_Error{Message: tt.message}})
			if err == nil {
				t.Fatal("ERROR did not end the subscription")
			}
			if got := errors.Is(h.l.fatal, ErrFailedOver); got != tt.wantFatal {
				t.Errorf("fatal = %v", h.l.fatal)
			}
			if id, _ := h.store.FrameworkID(); id != tt.wantID {
				t.Errorf("stored framework id = %q, want %q", id, tt.wantID)
			}
		})
	}
}

func TestDeletedFunctionTasksAreKilled(t *testing.T) {
	h := newHarness(t)
	h.putTask(&state.Task{ID: "t1", FunctionID: "gone", Version: 1, AgentID: "a1", State: state.TaskRunning})
	h.subscribe() // the reconciliation asks about t1
	h.l.converge(t.Context())
	if ks := ofType(h.rec.take(), scheduler.Call_KILL); len(ks) != 0 {
		t.Fatalf("killed again within the retry interval: %d", len(ks))
	}
	h.clock.advance(killRetry)
	h.l.converge(t.Context())
	ks := ofType(h.rec.take(), scheduler.Call_KILL)
	if len(ks) != 1 || ks[0].Kill.TaskID.Value != "t1" || ks[0].Kill.GetAgentID().GetValue() != "a1" {
		t.Fatalf("kills = %+v", ks)
	}
}
