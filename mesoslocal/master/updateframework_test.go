package master

import (
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// frameworkState returns a copy of what the master holds about a framework.
func (h *harness) frameworkState(fid string) (info mesos.FrameworkInfo, roles []string, suppressed []string) {
	h.t.Helper()
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	fw := h.m.frameworks[fid]
	if fw == nil {
		h.t.Fatalf("framework %s unknown", fid)
	}
	for r := range fw.suppressed {
		suppressed = append(suppressed, r)
	}
	slices.Sort(suppressed)
	return fw.info, slices.Clone(fw.roles), suppressed
}

func multiRoleInfo(roles ...string) *mesos.FrameworkInfo {
	info := frameworkInfo(mesos.FrameworkInfo_Capability_MULTI_ROLE)
	info.Roles = roles
	return info
}

// Conformance: 31
func TestUpdateFrameworkWithMesosGo(t *testing.T) {
	for _, mt := range codecsUnderTest {
		t.Run(mt, func(t *testing.T) {
			h := newHarness(t)
			h.addAgent("cpus:2;mem:256")
			info := multiRoleInfo("a", "b")
			info.FailoverTimeout = ptr(60.0)
			s := h.subscribe(mt, info)
			first := s.offer()
			if role := first.AllocationInfo.GetRole(); role != "a" {
				t.Fatalf("first offer for role %q, want a", role)
			}

			upd := *multiRoleInfo("b")
			upd.ID = &mesos.FrameworkID{Value: s.id}
			upd.Name = "renamed"
			upd.WebUiURL = ptr("http://ui.example/")
			upd.FailoverTimeout = ptr(3600.0)
			upd.Capabilities = append(upd.Capabilities,
				mesos.FrameworkInfo_Capability{Type: mesos.FrameworkInfo_Capability_PARTITION_AWARE})
			// mesos-go turns any failed call into a lost subscription, so
			// every mustCall below also proves the previous one succeeded.
			s.mustCall(calls.UpdateFramework(upd))

			// Role a was dropped: its offer is rescinded, offers go to b.
			if ev := s.next(scheduler.Event_RESCIND); ev.Rescind.OfferID != first.ID {
				t.Fatalf("rescinded %s, want %s", ev.Rescind.OfferID.Value, first.ID.Value)
			}
			off := s.offer()
			if role := off.AllocationInfo.GetRole(); role != "b" {
				t.Fatalf("offer for role %q after update, want b", role)
			}
			got, roles, _ := h.frameworkState(s.id)
			if got.Name != "renamed" || got.GetWebUiURL() != "http://ui.example/" ||
				got.GetFailoverTimeout() != 3600 || !slices.Equal(roles, []string{"b"}) {
				t.Fatalf("framework after update: %v, roles %v", got, roles)
			}
			if got.GetID().GetValue() != s.id || got.User != "nobody" {
				t.Fatalf("id or user lost in update: %v", got)
			}
			h.m.mu.Lock()
			pa := h.m.frameworks[s.id].partitionAware()
			h.m.mu.Unlock()
			if !pa {
				t.Fatal("capability added by the update is not in effect")
			}

			// suppressed_roles replaces the suppressed set.
			s.mustCall(calls.Decline(off.ID).With(calls.RefuseSeconds(time.Hour)))
			s.mustCall(calls.UpdateFramework(upd, func(u *scheduler.Call_UpdateFramework) {
				u.SuppressedRoles = []string{"b"}
			}))
			if _, _, sup := h.frameworkState(s.id); !slices.Equal(sup, []string{"b"}) {
				t.Fatalf("suppressed roles %v, want [b]", sup)
			}
			// Leaving the suppressed set revives the role, clearing the
			// hour-long filter: an offer comes at once.
			s.mustCall(calls.UpdateFramework(upd))
			if _, _, sup := h.frameworkState(s.id); len(sup) != 0 {
				t.Fatalf("suppressed roles %v, want none", sup)
			}
			if role := s.offer().AllocationInfo.GetRole(); role != "b" {
				t.Fatalf("offer for role %q, want b", role)
			}
		})
	}
}

// Conformance: 31
func TestUpdateFrameworkRefusals(t *testing.T) {
	h := newHarness(t)
	base := func() *mesos.FrameworkInfo {
		info := multiRoleInfo("a", "b")
		info.Principal = ptr("p")
		info.Checkpoint = ptr(true)
		return info
	}
	sub := h.rawSubscribe(base())
	update := func(mutate func(*mesos.FrameworkInfo, *scheduler.Call_UpdateFramework)) *scheduler.Call {
		info := base()
		info.ID = &mesos.FrameworkID{Value: sub.framework}
		c := calls.UpdateFramework(*info).With(calls.Framework(sub.framework))
		if mutate != nil {
			mutate(&c.UpdateFramework.FrameworkInfo, c.UpdateFramework)
		}
		return c
	}
	type mut = func(*mesos.FrameworkInfo, *scheduler.Call_UpdateFramework)
	tests := []struct {
		name   string
		mutate mut
		want   int
	}{
		{"change user", func(i *mesos.FrameworkInfo, _ *scheduler.Call_UpdateFramework) { i.User = "root2" }, http.StatusBadRequest},
		{"change checkpoint", func(i *mesos.FrameworkInfo, _ *scheduler.Call_UpdateFramework) { i.Checkpoint = ptr(false) }, http.StatusBadRequest},
		{"change principal", func(i *mesos.FrameworkInfo, _ *scheduler.Call_UpdateFramework) { i.Principal = ptr("q") }, http.StatusBadRequest},
		{"drop principal", func(i *mesos.FrameworkInfo, _ *scheduler.Call_UpdateFramework) { i.Principal = nil }, http.StatusBadRequest},
		{"id differs from framework_id", func(i *mesos.FrameworkInfo, _ *scheduler.Call_UpdateFramework) {
			i.ID = &mesos.FrameworkID{Value: "other"}
		}, http.StatusBadRequest},
		{"no id", func(i *mesos.FrameworkInfo, _ *scheduler.Call_UpdateFramework) { i.ID = nil }, http.StatusBadRequest},
		{"suppressed role not subscribed", func(_ *mesos.FrameworkInfo, u *scheduler.Call_UpdateFramework) {
			u.SuppressedRoles = []string{"c"}
		}, http.StatusBadRequest},
		{"invalid role", func(i *mesos.FrameworkInfo, _ *scheduler.Call_UpdateFramework) { i.Roles = []string{"a", "-b"} }, http.StatusBadRequest},
		{"duplicate role", func(i *mesos.FrameworkInfo, _ *scheduler.Call_UpdateFramework) { i.Roles = []string{"a", "a"} }, http.StatusBadRequest},
		{"roles without MULTI_ROLE", func(i *mesos.FrameworkInfo, _ *scheduler.Call_UpdateFramework) { i.Capabilities = nil }, http.StatusBadRequest},
		{"role with MULTI_ROLE", func(i *mesos.FrameworkInfo, _ *scheduler.Call_UpdateFramework) { i.Role = ptr("a") }, http.StatusBadRequest},
		{"valid update", func(i *mesos.FrameworkInfo, u *scheduler.Call_UpdateFramework) {
			i.Name = "renamed"
			i.Roles = []string{"b"}
			u.SuppressedRoles = []string{"b"}
		}, http.StatusOK},
	}
	for _, mt := range codecsUnderTest {
		for _, tc := range tests {
			t.Run(mt+"/"+tc.name, func(t *testing.T) {
				resp := h.rawPost(http.MethodPost, mt, "", sub.streamID, encodeCall(t, mt, update(tc.mutate)))
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tc.want {
					t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tc.want)
				}
				if tc.want == http.StatusOK {
					if len(body) != 0 || resp.Header.Get("Content-Type") != mt {
						t.Fatalf("200 with body %q, Content-Type %q", body, resp.Header.Get("Content-Type"))
					}
					return
				}
				if len(body) == 0 {
					t.Fatal("error without a reason")
				}
				// Refusals are all or nothing: the last valid state stays.
				info, roles, _ := h.frameworkState(sub.framework)
				if info.User != "nobody" || !info.GetCheckpoint() || info.GetPrincipal() != "p" ||
					len(info.Capabilities) != 1 || len(roles) == 0 {
					t.Fatalf("refused update changed the framework: %v, roles %v", info, roles)
				}
			})
		}
	}
	info, roles, sup := h.frameworkState(sub.framework)
	if info.Name != "renamed" || !slices.Equal(roles, []string{"b"}) || !slices.Equal(sup, []string{"b"}) {
		t.Fatalf("after the valid update: %v, roles %v, suppressed %v", info, roles, sup)
	}
}

// Conformance: 31
func TestReconcileOperations(t *testing.T) {
	for _, mt := range codecsUnderTest {
		t.Run(mt, func(t *testing.T) {
			h := newHarness(t)
			a := h.addAgent("cpus:1;mem:128")
			lost := h.addAgent("cpus:1;mem:128")
			if err := h.m.RemoveAgent(*lost.info.ID, true); err != nil {
				t.Fatal(err)
			}
			info := frameworkInfo()
			info.FailoverTimeout = ptr(3600.0)
			s := h.subscribe(mt, info)

			// Implicit reconciliation: this master has no operations.
			s.mustCall(calls.ReconcileOperations(nil))
			s.none(scheduler.Event_UPDATE_OPERATION_STATUS, 200*time.Millisecond)

			aid, lostID := a.info.ID.Value, lost.info.ID.Value
			s.mustCall(calls.ReconcileOperations([]calls.ReconcileOperationRequest{
				{OperationID: "op1", AgentID: aid},
				{OperationID: "op2"},
				{OperationID: "op3", AgentID: "no-such-agent"},
				{OperationID: "op4", AgentID: lostID, ResourceProviderID: "rp"},
			}))
			want := []struct {
				op, agent string
				state     mesos.OperationState
			}{
				{"op1", aid, mesos.OPERATION_UNKNOWN},
				{"op2", "", mesos.OPERATION_UNKNOWN},
				{"op3", "no-such-agent", mesos.OPERATION_UNKNOWN},
				{"op4", lostID, mesos.OPERATION_UNREACHABLE},
			}
			for _, w := range want {
				st := s.next(scheduler.Event_UPDATE_OPERATION_STATUS).UpdateOperationStatus.Status
				if st.GetOperationID().GetValue() != w.op || st.State != w.state ||
					st.GetAgentID().GetValue() != w.agent || st.UUID != nil || st.GetMessage() == "" {
					t.Fatalf("%s: got %v, want state %s agent %q and no uuid", w.op, st, w.state, w.agent)
				}
				if w.op == "op4" && st.GetResourceProviderID().GetValue() != "rp" {
					t.Fatalf("op4: resource provider id not echoed: %v", st)
				}
			}

			// After a master failover, an agent that has not re-registered
			// is reported as recovering.
			h.m.Restart(time.Hour)
			info.ID = &mesos.FrameworkID{Value: s.id}
			s2 := h.subscribe(mt, info)
			s2.mustCall(calls.ReconcileOperations([]calls.ReconcileOperationRequest{{OperationID: "op5", AgentID: aid}}))
			st := s2.next(scheduler.Event_UPDATE_OPERATION_STATUS).UpdateOperationStatus.Status
			if st.State != mesos.OPERATION_RECOVERING {
				t.Fatalf("op5: state %s, want OPERATION_RECOVERING", st.State)
			}
			s2.mustCall(calls.Revive())
		})
	}
}

// Conformance: 31
func TestReconcileOperationsAcceptNegotiation(t *testing.T) {
	h := newHarness(t)
	sub := h.rawSubscribe(frameworkInfo())
	for _, tc := range []struct {
		call *scheduler.Call
		want int
	}{
		// Its answers are events, so its Accept header must allow one
		// of the two encodings.
		{calls.ReconcileOperations(nil), http.StatusNotAcceptable},
		// Every other call ignores Accept.
		{calls.Revive(), http.StatusAccepted},
	} {
		c := tc.call.With(calls.Framework(sub.framework))
		resp := h.rawPost(http.MethodPost, mediaJSON, "text/html", sub.streamID, encodeCall(t, mediaJSON, c))
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Fatalf("%s with Accept text/html: status %d, want %d", c.Type, resp.StatusCode, tc.want)
		}
	}
	resp := h.rawPost(http.MethodPost, mediaJSON, mediaProtobuf, sub.streamID,
		encodeCall(t, mediaJSON, calls.ReconcileOperations(nil).With(calls.Framework(sub.framework))))
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("RECONCILE_OPERATIONS: status %d, want 202", resp.StatusCode)
	}
}
