package scheduler

import (
	"context"
	"strings"
	"testing"

	fobpb "github.com/fob-project/fob/proto"
	"github.com/fob-project/fob/sandbox"
	"github.com/fob-project/fob/state"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// warmLang is a language whose driver can start workers without code.
const warmLang = "fobwarm"

func init() {
	sandbox.Register(sandbox.Driver{Name: warmLang, Extension: ".w", Image: "fob/warm-runtime:1",
		Command: []string{"w", "{shim}", "{code}"}, WaitCommand: []string{"w", "{shim}"}})
}

func warmFunction(id string, version uint64) *state.Function {
	return &state.Function{ID: id, Language: warmLang, Digest: "d1g35t", Version: version}
}

// newWarmHarness is a subscribed harness with a warm pool of size per
// language.
func newWarmHarness(t *testing.T, size int) *harness {
	t.Helper()
	h := newHarness(t)
	h.l.cfg.WarmPool = size
	h.subscribe()
	return h
}

// converge runs the loop's converge, as a store watch would.
func (h *harness) converge() {
	h.l.converge(context.Background())
}

// stems returns the tasks that are stems, or were launched as stems.
func (h *harness) stems() []*state.Task {
	h.t.Helper()
	ts, err := h.store.Tasks(nil)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []*state.Task
	for _, t := range ts {
		if strings.HasPrefix(t.ID, "fob.stem.") {
			out = append(out, t)
		}
	}
	return out
}

// runningStems launches size stems of warmLang through an offer and
// reports them running (with the executor's stem label).
func (h *harness) runningStems() []*state.Task {
	h.t.Helper()
	if err := h.event(offersEvent(bigOffer("o-stems", "a1"))); err != nil {
		h.t.Fatal(err)
	}
	h.rec.take()
	for _, s := range h.stems() {
		ev := updateEvent(upd{task: s.ID, agent: "a1", state: mesos.TASK_RUNNING, source: mesos.SOURCE_EXECUTOR, uuid: testUUID})
		ev.Update.Status.Labels = &mesos.Labels{Labels: []mesos.Label{fobpb.StemLabel(warmLang)}}
		if err := h.event(ev); err != nil {
			h.t.Fatal(err)
		}
	}
	h.rec.take()
	return h.stems()
}

// loadedEvent is the RUNNING a specialised stem sends once it loaded fn v.
func loadedEvent(task, fn string, v uint64) *scheduler.Event {
	ev := updateEvent(upd{task: task, agent: "a1", state: mesos.TASK_RUNNING, source: mesos.SOURCE_EXECUTOR, uuid: testUUID})
	ev.Update.Status.Labels = &mesos.Labels{Labels: fobpb.LoadedLabels(fn, v)}
	return ev
}

func TestStemsAreLaunchedThroughOffers(t *testing.T) {
	h := newWarmHarness(t, 2)
	// Subscribing wanted stems: a REVIVE went out.
	h.converge()
	if err := h.event(offersEvent(bigOffer("o1", "a1"))); err != nil {
		t.Fatal(err)
	}
	cs := h.rec.take()
	accepts := ofType(cs, scheduler.Call_ACCEPT)
	if len(accepts) != 1 {
		t.Fatalf("accepts = %d", len(accepts))
	}
	// Enough stems now: nothing more is wanted, offers are suppressed.
	if len(ofType(cs, scheduler.Call_SUPPRESS)) != 1 {
		t.Errorf("calls = %v, want a SUPPRESS once the pool is full", types(cs))
	}
	launched := accepts[0].Accept.Operations[0].Launch.TaskInfos
	if len(launched) != 2 {
		t.Fatalf("launched %d tasks, want 2 stems", len(launched))
	}
	for _, ti := range launched {
		if !strings.HasPrefix(ti.TaskID.Value, "fob.stem."+warmLang+".") {
			t.Errorf("task id %q is no stem's", ti.TaskID.Value)
		}
		var spec fobpb.FunctionSpec
		if err := spec.Unmarshal(ti.Data); err != nil {
			t.Fatal(err)
		}
		if spec.FunctionId != "" || spec.CodeUrl != "" || spec.Language != warmLang || spec.Secret == "" || spec.Port == 0 ||
			spec.TaskId != ti.TaskID.Value || spec.GetLimits().GetConcurrency() != uint32(defaultConcurrency) {
			t.Errorf("stem spec = %+v", spec)
		}
		if got := labelMap(ti.Labels); got[fobpb.LabelStem] != warmLang || got[labelFunctionID] != "" {
			t.Errorf("stem labels = %v", got)
		}
		if ti.Executor.Container.Docker.Image != "fob/warm-runtime:1" {
			t.Errorf("stem image = %q", ti.Executor.Container.Docker.Image)
		}
	}
	for _, s := range h.stems() {
		if !s.IsStem() || s.Language != warmLang || s.State != state.TaskStaging || s.Secret == "" {
			t.Errorf("recorded stem = %+v", s)
		}
	}
}

func TestSpecialiseSendsMessageAfterPersisting(t *testing.T) {
	h := newWarmHarness(t, 2)
	stems := h.runningStems()
	if len(stems) != 2 {
		t.Fatalf("stems = %d", len(stems))
	}
	var atMessage *state.Task
	h.rec.onCall = func(c *scheduler.Call) {
		if c.Type == scheduler.Call_MESSAGE {
			atMessage = h.task(c.Message.ExecutorID.Value)
		}
	}
	h.putFunction(warmFunction("f", 3))
	h.converge()
	msgs := ofType(h.rec.take(), scheduler.Call_MESSAGE)
	if len(msgs) != 1 {
		t.Fatalf("messages = %d, want 1", len(msgs))
	}
	m := msgs[0].Message
	if atMessage == nil || atMessage.FunctionID != "f" || atMessage.Version != 3 || atMessage.State != state.TaskStarting ||
		atMessage.SpecialisedAt.IsZero() {
		t.Fatalf("task when the MESSAGE went out = %+v, want recorded as starting for f v3", atMessage)
	}
	stem := stems[0] // the oldest running stem is used first
	if m.AgentID.Value != "a1" || m.ExecutorID.Value != stem.ID || atMessage.ID != stem.ID {
		t.Errorf("message to %s/%s, want a1/%s", m.AgentID.Value, m.ExecutorID.Value, stem.ID)
	}
	var spec fobpb.FunctionSpec
	if err := spec.Unmarshal(m.Data); err != nil {
		t.Fatal(err)
	}
	if spec.FunctionId != "f" || spec.Version != 3 || spec.TaskId != stem.ID || spec.Secret != stem.Secret ||
		spec.Port != stem.Port || spec.CodeUrl != "http://fob.example:8080/api/cs/f" || spec.CodeDigest != "d1g35t" {
		t.Errorf("spec = %+v", spec)
	}
	// The API's code route finds the stem's secret among f's tasks.
	if ts := h.tasksOf("f"); len(ts) != 1 || ts[0].Secret != stem.Secret {
		t.Errorf("tasks of f = %+v", ts)
	}
	// Converging again sends nothing twice.
	h.converge()
	if msgs := ofType(h.rec.take(), scheduler.Call_MESSAGE); len(msgs) != 0 {
		t.Errorf("sent %d more messages", len(msgs))
	}
}

func TestLabelledRunningMarksTheFunctionRunning(t *testing.T) {
	h := newWarmHarness(t, 1)
	stem := h.runningStems()[0]
	h.putFunction(warmFunction("f", 1))
	h.converge()
	h.rec.take()

	tests := []struct {
		name string
		ev   *scheduler.Event
	}{
		{"the stem's own RUNNING again", func() *scheduler.Event {
			ev := updateEvent(upd{task: stem.ID, agent: "a1", state: mesos.TASK_RUNNING, source: mesos.SOURCE_EXECUTOR, uuid: testUUID})
			ev.Update.Status.Labels = &mesos.Labels{Labels: []mesos.Label{fobpb.StemLabel(warmLang)}}
			return ev
		}()},
		{"a reconciliation answer", updateEvent(upd{task: stem.ID, agent: "a1", state: mesos.TASK_RUNNING,
			source: mesos.SOURCE_MASTER, reason: reason(mesos.REASON_RECONCILIATION)})},
		{"another function", loadedEvent(stem.ID, "g", 1)},
		{"another version", loadedEvent(stem.ID, "f", 2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := h.event(tt.ev); err != nil {
				t.Fatal(err)
			}
			if got := h.task(stem.ID).State; got != state.TaskStarting {
				t.Errorf("state = %q, want still starting", got)
			}
			acks := ofType(h.rec.take(), scheduler.Call_ACKNOWLEDGE)
			if want := len(tt.ev.Update.Status.UUID) > 0; (len(acks) == 1) != want {
				t.Errorf("acks = %d, want acked: %v", len(acks), want)
			}
		})
	}

	if err := h.event(loadedEvent(stem.ID, "f", 1)); err != nil {
		t.Fatal(err)
	}
	if got := h.task(stem.ID); got.State != state.TaskRunning || got.FunctionID != "f" {
		t.Fatalf("task = %+v, want running for f", got)
	}
	if acks := ofType(h.rec.take(), scheduler.Call_ACKNOWLEDGE); len(acks) != 1 {
		t.Errorf("acks = %d", len(acks))
	}
	if st := h.status("f"); st.Phase != state.PhaseRunning {
		t.Errorf("phase = %q", st.Phase)
	}
}

func TestPoolIsRefilled(t *testing.T) {
	h := newWarmHarness(t, 2)
	stems := h.runningStems()
	h.putFunction(warmFunction("f", 1))
	h.converge()
	if cs := h.rec.take(); len(ofType(cs, scheduler.Call_REVIVE)) != 1 {
		t.Errorf("calls after using a stem = %v, want a REVIVE for its replacement", types(cs))
	}
	if err := h.event(offersEvent(bigOffer("o2", "a1"))); err != nil {
		t.Fatal(err)
	}
	accepts := ofType(h.rec.take(), scheduler.Call_ACCEPT)
	if len(accepts) != 1 {
		t.Fatalf("accepts = %d", len(accepts))
	}
	launched := accepts[0].Accept.Operations[0].Launch.TaskInfos
	if len(launched) != 1 || !strings.HasPrefix(launched[0].TaskID.Value, "fob.stem.") {
		t.Fatalf("launched %d tasks, want one stem", len(launched))
	}
	unused := 0
	for _, s := range h.stems() {
		if s.IsStem() {
			unused++
		}
	}
	if unused != 2 || len(h.stems()) != len(stems)+1 {
		t.Errorf("unused stems = %d of %d, want 2 of %d", unused, len(h.stems()), len(stems)+1)
	}
}

func TestSpecialisationTimeoutKillsAndLaunchesNormally(t *testing.T) {
	h := newWarmHarness(t, 2)
	stems := h.runningStems()
	h.putFunction(warmFunction("f", 1))
	h.converge()
	h.rec.take()

	deadline := h.task(stems[0].ID).SpecialisedAt.Add(specialiseTimeout)
	if !h.l.planWake.Equal(deadline) {
		t.Errorf("the loop wakes at %v, want at the timeout %v", h.l.planWake, deadline)
	}
	h.clock.advance(specialiseTimeout - 1)
	h.converge()
	if kills := ofType(h.rec.take(), scheduler.Call_KILL); len(kills) != 0 {
		t.Fatalf("killed before the timeout")
	}
	h.clock.advance(1)
	h.converge()
	cs := h.rec.take()
	kills := ofType(cs, scheduler.Call_KILL)
	if len(kills) != 1 || kills[0].Kill.TaskID.Value != stems[0].ID {
		t.Fatalf("calls = %v, want a KILL of %s", types(cs), stems[0].ID)
	}
	if got := h.task(stems[0].ID).State; got != state.TaskKilling {
		t.Errorf("timed-out stem is %q, want killing", got)
	}
	if msgs := ofType(cs, scheduler.Call_MESSAGE); len(msgs) != 0 {
		t.Errorf("the other stem was specialised after a timeout; want an ordinary launch")
	}
	if err := h.event(offersEvent(bigOffer("o2", "a1"))); err != nil {
		t.Fatal(err)
	}
	accepts := ofType(h.rec.take(), scheduler.Call_ACCEPT)
	if len(accepts) != 1 {
		t.Fatalf("accepts = %d", len(accepts))
	}
	var ordinary []string
	for _, ti := range accepts[0].Accept.Operations[0].Launch.TaskInfos {
		if strings.HasPrefix(ti.TaskID.Value, "fob.f.v1.") {
			ordinary = append(ordinary, ti.TaskID.Value)
		}
	}
	if len(ordinary) != 1 {
		t.Errorf("ordinary launches of f = %v, want one", ordinary)
	}
}

// Functions whose cpus or memory differ from a stem's, or that need more
// workers, launch the ordinary way: a stem's container keeps its own
// cgroup limits, which would not be the function's.
func TestOtherSizedFunctionsBypassThePool(t *testing.T) {
	tests := []struct {
		name   string
		limits state.Limits
	}{
		{"more memory", state.Limits{MemoryMB: defaultMemoryMB * 2}},
		{"less memory", state.Limits{MemoryMB: defaultMemoryMB / 2}},
		{"more cpus", state.Limits{CPUs: defaultCPUs + 0.001}},
		{"fewer cpus", state.Limits{CPUs: defaultCPUs / 2}},
		{"concurrency", state.Limits{Concurrency: defaultConcurrency + 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newWarmHarness(t, 1)
			h.runningStems()
			f := warmFunction("f", 1)
			f.Limits = tt.limits
			h.putFunction(f)
			h.converge()
			if msgs := ofType(h.rec.take(), scheduler.Call_MESSAGE); len(msgs) != 0 {
				t.Fatalf("a stem was specialised for limits %+v", tt.limits)
			}
			if err := h.event(offersEvent(bigOffer("o2", "a1"))); err != nil {
				t.Fatal(err)
			}
			if ts := h.tasksOf("f"); len(ts) != 1 || !strings.HasPrefix(ts[0].ID, "fob.f.v1.") {
				t.Errorf("tasks of f = %+v, want one ordinary launch", ts)
			}
		})
	}
}

func TestStemsOfOtherLanguagesAreNotUsed(t *testing.T) {
	h := newWarmHarness(t, 1)
	h.runningStems()
	h.putFunction(testFunction("f", 1)) // testLang has no warm pool
	h.converge()
	if msgs := ofType(h.rec.take(), scheduler.Call_MESSAGE); len(msgs) != 0 {
		t.Fatalf("a %s stem was handed a %s function", warmLang, testLang)
	}
}

func TestWarmPoolOffKillsStems(t *testing.T) {
	h := newWarmHarness(t, 2)
	stems := h.runningStems()
	h.l.cfg.WarmPool = 0 // as after a restart with --warm-pool 0
	h.converge()
	kills := ofType(h.rec.take(), scheduler.Call_KILL)
	if len(kills) != len(stems) {
		t.Fatalf("kills = %d, want %d", len(kills), len(stems))
	}
}
