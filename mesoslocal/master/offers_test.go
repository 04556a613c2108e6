package master

import (
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

const agentRes = "cpus:4;mem:1024;disk:1000;ports:[31000-31010]"

// Conformance: 32, 33, 34, 35, 20, 21
func TestOfferShape(t *testing.T) {
	tests := []struct {
		name      string
		caps      []mesos.FrameworkInfo_Capability_Type
		roles     []string
		wantRole  bool // resources carry role "*"
		wantAlloc string
	}{
		{"plain", nil, nil, true, ""},
		{"reservation refinement", []mesos.FrameworkInfo_Capability_Type{mesos.FrameworkInfo_Capability_RESERVATION_REFINEMENT}, nil, false, ""},
		{"multi role", []mesos.FrameworkInfo_Capability_Type{mesos.FrameworkInfo_Capability_MULTI_ROLE}, []string{"web"}, true, "web"},
	}
	for _, mt := range codecsUnderTest {
		for _, tc := range tests {
			t.Run(mt+"/"+tc.name, func(t *testing.T) {
				h := newHarness(t)
				a := h.addAgent(agentRes)
				fi := frameworkInfo(tc.caps...)
				fi.Roles = tc.roles
				s := h.subscribe(mt, fi)
				o := s.offer()
				if !strings.HasPrefix(o.ID.Value, h.m.ID()+"-O") {
					t.Errorf("offer id %q", o.ID.Value)
				}
				if o.FrameworkID.Value != s.id || o.AgentID.Value != a.info.ID.Value || o.Hostname != "localhost" {
					t.Errorf("offer ids/hostname: %+v", o)
				}
				if o.URL == nil || o.URL.Address.Port != 5051 {
					t.Errorf("offer url %+v", o.URL)
				}
				if len(o.ExecutorIDs) != 0 {
					t.Errorf("executor ids %v", o.ExecutorIDs)
				}
				if cpus(o.Resources) != 4 || len(o.Resources) != 4 {
					t.Errorf("resources %v", o.Resources)
				}
				for _, r := range o.Resources {
					if got := r.Role != nil && *r.Role == "*"; got != tc.wantRole {
						t.Errorf("resource %s role %v", r.Name, r.Role)
					}
					if got := r.GetAllocationInfo().GetRole(); got != tc.wantAlloc {
						t.Errorf("resource %s allocation role %q", r.Name, got)
					}
				}
				if got := o.GetAllocationInfo().GetRole(); got != tc.wantAlloc {
					t.Errorf("offer allocation role %q", got)
				}
			})
		}
	}
}

// Conformance: 36, 37, 38, 39, 40, 41, 44
func TestOfferFiltersReviveSuppress(t *testing.T) {
	for _, mt := range codecsUnderTest {
		t.Run(mt, func(t *testing.T) {
			h := newHarness(t)
			h.addAgent(agentRes)
			s := h.subscribe(mt, frameworkInfo())
			o := s.offer()

			// Outstanding resources are not offered twice.
			s.none(scheduler.Event_OFFERS, 200*time.Millisecond)

			// DECLINE with a short filter: nothing until it lapses.
			s.mustCall(calls.Decline(o.ID).With(calls.RefuseSeconds(400 * time.Millisecond)))
			start := time.Now()
			o = s.offer()
			if d := time.Since(start); d < 300*time.Millisecond {
				t.Fatalf("re-offered after %s despite a 400ms filter", d)
			}

			// Unknown offer ids in DECLINE are ignored (202).
			s.mustCall(calls.Decline(mesos.OfferID{Value: "unknown"}))

			// ACCEPT without operations declines implicitly with its filters;
			// REVIVE clears the filter and offers promptly.
			s.mustCall(calls.Accept(calls.OfferOperations{}.WithOffers(o.ID)).With(calls.RefuseSeconds(time.Hour)))
			s.none(scheduler.Event_OFFERS, 200*time.Millisecond)
			// REVIVE naming a role the framework does not have is dropped whole.
			s.mustCall(calls.ReviveWith([]string{"other"}))
			s.none(scheduler.Event_OFFERS, 200*time.Millisecond)
			s.mustCall(calls.Revive())
			o = s.offer()

			// SUPPRESS: no offers after a decline, even once filters lapse.
			s.mustCall(calls.Suppress())
			s.mustCall(calls.Decline(o.ID).With(calls.RefuseSeconds(0)))
			s.none(scheduler.Event_OFFERS, 300*time.Millisecond)
			s.mustCall(calls.Revive())
			s.offer()
		})
	}
}

// Conformance: 37
func TestRefuseDuration(t *testing.T) {
	tests := []struct {
		name string
		f    *mesos.Filters
		want time.Duration
	}{
		{"absent", nil, 5 * time.Second},
		{"unset", &mesos.Filters{}, 5 * time.Second},
		{"negative", &mesos.Filters{RefuseSeconds: ptr(-1.0)}, 5 * time.Second},
		{"zero", &mesos.Filters{RefuseSeconds: ptr(0.0)}, 0},
		{"fraction", &mesos.Filters{RefuseSeconds: ptr(0.5)}, 500 * time.Millisecond},
		{"capped", &mesos.Filters{RefuseSeconds: ptr(1e10)}, 365 * 24 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := refuseDuration(tc.f); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// Conformance: 42, 43, 67
func TestAcceptWithInvalidOffers(t *testing.T) {
	for _, mt := range codecsUnderTest {
		for _, pa := range []bool{false, true} {
			name := mt + "/not-partition-aware"
			wantState := mesos.TASK_LOST
			var caps []mesos.FrameworkInfo_Capability_Type
			if pa {
				name = mt + "/partition-aware"
				wantState = mesos.TASK_DROPPED
				caps = append(caps, mesos.FrameworkInfo_Capability_PARTITION_AWARE)
			}
			t.Run(name, func(t *testing.T) {
				h := newHarness(t)
				a1 := h.addAgent(agentRes)
				a2 := h.addAgent(agentRes)
				s := h.subscribe(mt, frameworkInfo(caps...))
				ev := s.next(scheduler.Event_OFFERS)
				offers := ev.Offers.Offers
				for len(offers) < 2 {
					offers = append(offers, s.next(scheduler.Event_OFFERS).Offers.Offers...)
				}
				byAgent := map[string]mesos.OfferID{}
				for _, o := range offers {
					byAgent[o.AgentID.Value] = o.ID
				}
				if len(byAgent) != 2 {
					t.Fatalf("offers %v do not cover both agents", offers)
				}
				task := newTask("t1", a1.info.ID.Value, "cpus:1;mem:64")
				accept := func(ids ...mesos.OfferID) {
					c := calls.Accept(calls.OfferOperations{calls.OpLaunch(task)}.WithOffers())
					c.Accept.OfferIDs = ids
					s.mustCall(c)
					st := s.update()
					if st.GetState() != wantState || st.GetReason() != mesos.REASON_INVALID_OFFERS ||
						st.GetSource() != mesos.SOURCE_MASTER || len(st.UUID) != 0 {
						t.Fatalf("update %v", st)
					}
				}
				accept(byAgent[a1.info.ID.Value], byAgent[a2.info.ID.Value]) // two agents
				accept(byAgent[a1.info.ID.Value])                            // already discarded
				accept()                                                     // no ids
				accept(mesos.OfferID{Value: "bogus"})
				if a1.hasCall("launch") || a2.hasCall("launch") {
					t.Fatal("invalid accept launched a task")
				}
			})
		}
	}
}

// Conformance: 43
func TestAcceptDuplicateAndForeignOffers(t *testing.T) {
	h := newHarness(t)
	a := h.addAgent(agentRes)
	s := h.subscribe(mediaJSON, frameworkInfo())
	o := s.offer()
	other := h.subscribe(mediaJSON, frameworkInfo())
	task := newTask("t1", a.info.ID.Value, "cpus:1;mem:64")

	c := calls.Accept(calls.OfferOperations{calls.OpLaunch(task)}.WithOffers())
	c.Accept.OfferIDs = []mesos.OfferID{o.ID}
	other.mustCall(c) // someone else's offer
	if st := other.update(); st.GetReason() != mesos.REASON_INVALID_OFFERS {
		t.Fatalf("foreign offer: %v", st)
	}
	c.Accept.OfferIDs = []mesos.OfferID{o.ID, o.ID}
	s.mustCall(c)
	if st := s.update(); st.GetState() != mesos.TASK_LOST || st.GetReason() != mesos.REASON_INVALID_OFFERS {
		t.Fatalf("duplicate offer: %v", st)
	}
}

func newTask(id, agent, res string) mesos.TaskInfo {
	cmd := "sleep 30"
	return mesos.TaskInfo{
		Name:      id,
		TaskID:    mesos.TaskID{Value: id},
		AgentID:   mesos.AgentID{Value: agent},
		Resources: mustResources(nil, res),
		Command:   &mesos.CommandInfo{Value: &cmd},
	}
}
