package master

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/apierrors"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// Conformance: 92, 93
func TestSupersededStreamID(t *testing.T) {
	h := newHarness(t)
	first := h.rawSubscribe(frameworkInfo())
	fi := frameworkInfo()
	fi.ID = &mesos.FrameworkID{Value: first.framework}
	second := h.rawSubscribe(fi)
	b, err := recordReaderFor(first.resp).next()
	for err == nil && !bytes.Contains(b, []byte(`"ERROR"`)) {
		b, err = recordReaderFor(first.resp).next()
	}
	if err != nil || !bytes.Contains(b, []byte("Framework failed over")) {
		t.Fatalf("old stream: %s %v", b, err)
	}
	for _, tc := range []struct {
		streamID string
		want     int
	}{{first.streamID, http.StatusBadRequest}, {second.streamID, http.StatusAccepted}} {
		resp := h.rawPost(http.MethodPost, mediaJSON, "", tc.streamID,
			encodeCall(t, mediaJSON, calls.Revive().With(calls.Framework(first.framework))))
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Fatalf("stream %s: %d, want %d", tc.streamID, resp.StatusCode, tc.want)
		}
	}
}

// Conformance: 45, 82, 88
func TestRemoveAgent(t *testing.T) {
	tests := []struct {
		name        string
		pa          bool
		unreachable bool
		wantTask    mesos.TaskState
		wantRecon   mesos.TaskState
	}{
		{"partitioned, partition aware", true, true, mesos.TASK_UNREACHABLE, mesos.TASK_UNREACHABLE},
		{"partitioned, not partition aware", false, true, mesos.TASK_LOST, mesos.TASK_LOST},
		{"gone, partition aware", true, false, mesos.TASK_GONE_BY_OPERATOR, mesos.TASK_UNKNOWN},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			a := h.addAgent("cpus:1;mem:64")
			spare := h.addAgent("cpus:1;mem:64")
			var caps []mesos.FrameworkInfo_Capability_Type
			if tc.pa {
				caps = append(caps, mesos.FrameworkInfo_Capability_PARTITION_AWARE)
			}
			s := h.subscribe(mediaJSON, frameworkInfo(caps...))
			// Collect both offers; launch on a, keep spare's outstanding.
			offers := map[string]mesos.Offer{}
			for len(offers) < 2 {
				for _, o := range s.next(scheduler.Event_OFFERS).Offers.Offers {
					offers[o.AgentID.Value] = o
				}
			}
			s.mustCall(calls.Accept(calls.OfferOperations{calls.OpLaunch(newTask("t1", a.info.ID.Value, "cpus:1"))}.
				WithOffers(offers[a.info.ID.Value].ID)))
			a.waitCall(t, "launch")
			if err := h.m.RemoveAgent(*spare.info.ID, tc.unreachable); err != nil {
				t.Fatal(err)
			}
			if ev := s.next(scheduler.Event_RESCIND); ev.Rescind.OfferID != offers[spare.info.ID.Value].ID {
				t.Fatalf("rescind %v", ev.Rescind)
			}
			if err := h.m.RemoveAgent(*a.info.ID, tc.unreachable); err != nil {
				t.Fatal(err)
			}
			st := s.update()
			if st.GetState() != tc.wantTask || len(st.UUID) != 0 || (tc.unreachable && st.UnreachableTime == nil) {
				t.Fatalf("task update %v", st)
			}
			if ev := s.next(scheduler.Event_FAILURE); ev.Failure.ExecutorID != nil || ev.Failure.AgentID == nil {
				t.Fatalf("failure %v", ev.Failure)
			}
			s.mustCall(calls.Reconcile(calls.ReconcileTasks(map[string]string{"t1": a.info.ID.Value})))
			if st := s.update(); st.GetState() != tc.wantRecon {
				t.Fatalf("reconcile %v, want %s", st, tc.wantRecon)
			}
		})
	}
}

// Conformance: 45
func TestRescindOfferHook(t *testing.T) {
	h := newHarness(t)
	h.addAgent(agentRes)
	s := h.subscribe(mediaProtobuf, frameworkInfo())
	o := s.offer()
	if err := h.m.RescindOffer(o.ID); err != nil {
		t.Fatal(err)
	}
	if ev := s.next(scheduler.Event_RESCIND); ev.Rescind.OfferID != o.ID {
		t.Fatalf("rescind %v", ev)
	}
	if o2 := s.offer(); o2.ID == o.ID {
		t.Fatal("rescinded offer re-sent")
	}
}

// Conformance: 18, 89, 99
func TestRestartMaster(t *testing.T) {
	h := newHarness(t)
	a := h.addAgent(agentRes)
	fi := frameworkInfo(mesos.FrameworkInfo_Capability_PARTITION_AWARE)
	fi.FailoverTimeout = ptr(60.0)
	s := h.subscribe(mediaJSON, fi)
	launchOne(t, s, a, "t1")
	oldMaster := h.m.ID()

	h.m.Restart(300 * time.Millisecond)
	for range s.events {
		// the connection breaks
	}
	if h.m.ID() == oldMaster {
		t.Fatal("master id unchanged")
	}
	resp := h.rawPost(http.MethodPost, mediaJSON, "", "x", encodeCall(t, mediaJSON, calls.Revive().With(calls.Framework(s.id))))
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("call before re-registration: %d", resp.StatusCode)
	}
	fi.ID = &mesos.FrameworkID{Value: s.id}
	again := h.subscribe(mediaJSON, fi)
	// Agent not re-registered yet: explicit reconciliation stays silent.
	again.mustCall(calls.Reconcile(calls.ReconcileTasks(map[string]string{"t1": a.info.ID.Value})))
	again.none(scheduler.Event_UPDATE, 100*time.Millisecond)
	waitFor(t, func() bool {
		h.m.mu.Lock()
		defer h.m.mu.Unlock()
		return !h.m.agents[a.info.ID.Value].recovering
	})
	again.mustCall(calls.Reconcile(calls.ReconcileTasks(map[string]string{"t1": a.info.ID.Value})))
	if st := again.update(); st.GetState() != mesos.TASK_STAGING {
		t.Fatalf("after re-registration: %v", st)
	}
	// Updates the agent kept reach the re-subscribed framework.
	h.m.StatusUpdate(*a.info.ID, agentStatus("t1", mesos.TASK_RUNNING, 7))
	if st := again.update(); st.GetState() != mesos.TASK_RUNNING || len(st.UUID) != 16 {
		t.Fatalf("update %v", st)
	}
}

// Conformance: 102
func TestFreezeStream(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.HeartbeatInterval = 50 * time.Millisecond })
	s := h.subscribe(mediaJSON, frameworkInfo())
	s.next(scheduler.Event_HEARTBEAT)
	if err := h.m.FreezeStream(mesos.FrameworkID{Value: s.id}); err != nil {
		t.Fatal(err)
	}
	// Drain what was already in flight, then expect silence.
	time.Sleep(100 * time.Millisecond)
	for len(s.events) > 0 {
		<-s.events
	}
	s.none(scheduler.Event_HEARTBEAT, 300*time.Millisecond)
}

// Conformance: 103, 104
func TestRedirectAndUnavailable(t *testing.T) {
	h := newHarness(t)
	h.m.SetRedirect("leader.example:5050")
	resp := h.rawPost(http.MethodPost, mediaJSON, "", "", encodeCall(t, mediaJSON, calls.Subscribe(frameworkInfo())))
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != "//leader.example:5050/api/v1/scheduler" {
		t.Fatalf("redirect: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	h.m.SetRedirect("")
	h.m.SetUnavailable(true)
	caller := h.newCaller(mediaProtobuf)
	ctx, cancel := context.WithTimeout(context.Background(), 3*waitTimeout)
	defer cancel()
	_, err := caller.Call(ctx, calls.Subscribe(frameworkInfo()))
	var apiErr *apierrors.Error
	if !errors.As(err, &apiErr) || !apierrors.CodeMesosUnavailable.Matches(apiErr) {
		t.Fatalf("subscribe while unavailable: %v", err)
	}
	h.m.SetUnavailable(false)
	h.subscribe(mediaProtobuf, frameworkInfo())
}

// Conformance: 75
func TestUpdateFaults(t *testing.T) {
	h := newHarness(t)
	a := h.addAgent(agentRes)
	s := h.subscribe(mediaJSON, frameworkInfo())
	launchOne(t, s, a, "t1")
	h.m.SetUpdateFault(func(st mesos.TaskStatus) UpdateFault {
		switch st.GetState() {
		case mesos.TASK_STARTING:
			return UpdateFault{Delay: 150 * time.Millisecond}
		case mesos.TASK_RUNNING:
			return UpdateFault{Duplicate: 1}
		case mesos.TASK_FAILED:
			return UpdateFault{Drop: true}
		}
		return UpdateFault{}
	})
	h.m.StatusUpdate(*a.info.ID, agentStatus("t1", mesos.TASK_STARTING, 1))
	h.m.StatusUpdate(*a.info.ID, agentStatus("t1", mesos.TASK_RUNNING, 2))
	var got []string
	for len(got) < 3 {
		st := s.update()
		got = append(got, st.GetState().String())
	}
	if strings.Join(got, ",") != "TASK_RUNNING,TASK_RUNNING,TASK_STARTING" {
		t.Fatalf("delivered %v", got)
	}
	h.m.StatusUpdate(*a.info.ID, agentStatus("t1", mesos.TASK_FAILED, 3))
	s.none(scheduler.Event_UPDATE, 100*time.Millisecond)
}
