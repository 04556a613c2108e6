package scheduler

import (
	"context"
	fobpb "github.com/fob-project/fob/proto"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/fob-project/fob/sandbox"
	"github.com/fob-project/fob/state"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

const (
	testLang  = "fobtest"
	testImage = "fob/test-runtime:1"
)

func init() {
	sandbox.Register(sandbox.Driver{Name: testLang, Extension: ".t", Image: testImage})
}

// recorder is a calls.Caller that records every call and can fail some.
// onCall, if set, runs before a call is recorded (to check ordering).
type recorder struct {
	mu     sync.Mutex
	calls  []*scheduler.Call
	fail   map[scheduler.Call_Type]error
	onCall func(*scheduler.Call)
}

func (r *recorder) Call(_ context.Context, c *scheduler.Call) (mesos.Response, error) {
	if r.onCall != nil {
		r.onCall(c)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, c)
	return nil, r.fail[c.Type]
}

// take returns the calls so far and forgets them.
func (r *recorder) take() []*scheduler.Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	cs := r.calls
	r.calls = nil
	return cs
}

func types(cs []*scheduler.Call) []scheduler.Call_Type {
	out := make([]scheduler.Call_Type, len(cs))
	for i, c := range cs {
		out[i] = c.Type
	}
	return out
}

func ofType(cs []*scheduler.Call, t scheduler.Call_Type) []*scheduler.Call {
	var out []*scheduler.Call
	for _, c := range cs {
		if c.Type == t {
			out = append(out, c)
		}
	}
	return out
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

type harness struct {
	t       *testing.T
	l       *loop
	rec     *recorder
	store   *state.Store
	clock   *clock
	dropped int // subscriptions the loop ended
}

func testConfig() Config {
	cfg, err := Config{
		MasterURL:       "http://127.0.0.1:5050",
		User:            "nobody",
		APIURL:          "http://fob.example:8080",
		ExecutorCommand: "/opt/fob/fob executor",
		ExecutorURIs:    []mesos.CommandInfo_URI{{Value: "http://fob.example:8080/fob", Executable: proto(true), Extract: proto(false)}},
		ExecutorEnv:     map[string]string{"FOB_EXECUTOR_BIND": "0.0.0.0", "A": "1"},
	}.withDefaults()
	if err != nil {
		panic(err)
	}
	return cfg
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	store, err := state.NewMemory()
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, rec: &recorder{}, store: store, clock: &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}}
	h.l = newLoop(testConfig(), store, h.rec, slog.New(slog.DiscardHandler))
	h.l.now = h.clock.now
	h.l.rng = rand.New(rand.NewPCG(1, 2))
	h.l.connecting(func() { h.dropped++ })
	return h
}

func (h *harness) event(e *scheduler.Event) error {
	h.t.Helper()
	return h.l.handleEvent(context.Background(), e)
}

// subscribe feeds SUBSCRIBED and forgets the calls it caused.
func (h *harness) subscribe() {
	h.t.Helper()
	if err := h.event(subscribedEvent("fw-1", 15)); err != nil {
		h.t.Fatal(err)
	}
	h.rec.take()
}

func (h *harness) putFunction(f *state.Function) {
	h.t.Helper()
	if err := h.store.PutFunction(f); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) putTask(tk *state.Task) {
	h.t.Helper()
	if err := h.store.PutTask(tk); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) task(id string) *state.Task {
	h.t.Helper()
	tk, err := h.store.Task(nil, id)
	if err != nil {
		h.t.Fatalf("task %s: %v", id, err)
	}
	return tk
}

func (h *harness) status(fnID string) *state.FunctionStatus {
	h.t.Helper()
	st, err := h.store.Status(nil, fnID)
	if err != nil {
		h.t.Fatalf("status %s: %v", fnID, err)
	}
	return st
}

func (h *harness) tasksOf(fnID string) []*state.Task {
	h.t.Helper()
	ts, err := h.store.TasksOf(nil, fnID)
	if err != nil {
		h.t.Fatal(err)
	}
	return ts
}

func testFunction(id string, version uint64) *state.Function {
	return &state.Function{ID: id, Name: "name-" + id, Language: testLang, Digest: "d1g35t", Version: version}
}

func subscribedEvent(id string, heartbeat float64) *scheduler.Event {
	return &scheduler.Event{
		Type: scheduler.Event_SUBSCRIBED,
		Subscribed: &scheduler.Event_Subscribed{
			FrameworkID:              &mesos.FrameworkID{Value: id},
			HeartbeatIntervalSeconds: &heartbeat,
		},
	}
}

func scalar(name string, v float64) mesos.Resource {
	return mesos.Resource{Name: name, Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}}
}

func ports(ranges ...[2]uint64) mesos.Resource {
	r := mesos.Resource{Name: resPorts, Type: mesos.RANGES.Enum(), Ranges: &mesos.Value_Ranges{}}
	for _, rg := range ranges {
		r.Ranges.Range = append(r.Ranges.Range, mesos.Value_Range{Begin: rg[0], End: rg[1]})
	}
	return r
}

func withRole(r mesos.Resource, role string) mesos.Resource {
	r.Role = &role
	return r
}

func offer(id, agent string, rs ...mesos.Resource) mesos.Offer {
	return mesos.Offer{
		ID:          mesos.OfferID{Value: id},
		FrameworkID: mesos.FrameworkID{Value: "fw-1"},
		AgentID:     mesos.AgentID{Value: agent},
		Hostname:    "host-" + agent,
		Resources:   rs,
	}
}

func bigOffer(id, agent string) mesos.Offer {
	return offer(id, agent, scalar(resCPUs, 4), scalar(resMem, 4096), ports([2]uint64{31000, 31009}))
}

func offersEvent(os ...mesos.Offer) *scheduler.Event {
	return &scheduler.Event{Type: scheduler.Event_OFFERS, Offers: &scheduler.Event_Offers{Offers: os}}
}

type upd struct {
	task, agent string
	state       mesos.TaskState
	source      mesos.TaskStatus_Source
	reason      *mesos.TaskStatus_Reason
	message     string
	uuid        []byte
	loadFailure bool // carries the executor's load-failure label
}

func updateEvent(u upd) *scheduler.Event {
	st := mesos.TaskStatus{
		TaskID: mesos.TaskID{Value: u.task},
		State:  u.state.Enum(),
		Source: u.source.Enum(),
		Reason: u.reason,
		UUID:   u.uuid,
	}
	if u.agent != "" {
		st.AgentID = &mesos.AgentID{Value: u.agent}
	}
	if u.message != "" {
		st.Message = &u.message
	}
	if u.loadFailure {
		st.Labels = &mesos.Labels{Labels: []mesos.Label{fobpb.LoadFailureLabel()}}
	}
	return &scheduler.Event{Type: scheduler.Event_UPDATE, Update: &scheduler.Event_Update{Status: st}}
}

var testUUID = []byte("0123456789abcdef")
