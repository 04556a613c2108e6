package master

import (
	"bufio"
	"io"
	"net/http"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// rawSubscription is a SUBSCRIBE made with plain net/http.
type rawSubscription struct {
	framework string
	streamID  string
	resp      *http.Response
}

func (h *harness) rawSubscribe(info *mesos.FrameworkInfo) *rawSubscription {
	h.t.Helper()
	resp := h.rawPost(http.MethodPost, mediaJSON, mediaJSON, "", encodeCall(h.t, mediaJSON, calls.Subscribe(info)))
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("subscribe status %d", resp.StatusCode)
	}
	b, err := recordReader{bufio.NewReader(resp.Body)}.next()
	if err != nil {
		h.t.Fatal(err)
	}
	ev := decodeEvent(h.t, mediaJSON, b)
	if ev.Type != scheduler.Event_SUBSCRIBED {
		h.t.Fatalf("first event %s", ev.Type)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return &rawSubscription{framework: ev.Subscribed.FrameworkID.Value, streamID: resp.Header.Get("Mesos-Stream-Id"), resp: resp}
}

// Conformance: 23, 24, 25, 26, 27, 28, 29, 30, 107
func TestCallCommonChecks(t *testing.T) {
	h := newHarness(t)
	fi := frameworkInfo()
	fi.FailoverTimeout = ptr(3600.0)
	sub := h.rawSubscribe(fi)
	// A second framework that disconnects but stays known (failover timeout).
	away := h.rawSubscribe(fi)
	away.resp.Body.Close()
	waitFor(t, func() bool {
		h.m.mu.Lock()
		defer h.m.mu.Unlock()
		return !h.m.frameworks[away.framework].connected()
	})

	fw := func(id string) *mesos.FrameworkID { return &mesos.FrameworkID{Value: id} }
	uuid16 := make([]byte, 16)
	tests := []struct {
		name     string
		call     *scheduler.Call
		streamID string
		want     int
	}{
		{"no framework id", &scheduler.Call{Type: scheduler.Call_REVIVE}, sub.streamID, http.StatusBadRequest},
		{"unknown framework", &scheduler.Call{Type: scheduler.Call_REVIVE, FrameworkID: fw("nope")}, sub.streamID, http.StatusBadRequest},
		{"unsubscribed framework", &scheduler.Call{Type: scheduler.Call_REVIVE, FrameworkID: fw(away.framework)}, away.streamID, http.StatusForbidden},
		{"missing stream id", &scheduler.Call{Type: scheduler.Call_REVIVE, FrameworkID: fw(sub.framework)}, "", http.StatusBadRequest},
		{"wrong stream id", &scheduler.Call{Type: scheduler.Call_REVIVE, FrameworkID: fw(sub.framework)}, away.streamID, http.StatusBadRequest},
		{"accept without sub-message", &scheduler.Call{Type: scheduler.Call_ACCEPT, FrameworkID: fw(sub.framework)}, sub.streamID, http.StatusBadRequest},
		{"decline without sub-message", &scheduler.Call{Type: scheduler.Call_DECLINE, FrameworkID: fw(sub.framework)}, sub.streamID, http.StatusBadRequest},
		{"kill without sub-message", &scheduler.Call{Type: scheduler.Call_KILL, FrameworkID: fw(sub.framework)}, sub.streamID, http.StatusBadRequest},
		{"shutdown without sub-message", &scheduler.Call{Type: scheduler.Call_SHUTDOWN, FrameworkID: fw(sub.framework)}, sub.streamID, http.StatusBadRequest},
		{"acknowledge without sub-message", &scheduler.Call{Type: scheduler.Call_ACKNOWLEDGE, FrameworkID: fw(sub.framework)}, sub.streamID, http.StatusBadRequest},
		{"reconcile without sub-message", &scheduler.Call{Type: scheduler.Call_RECONCILE, FrameworkID: fw(sub.framework)}, sub.streamID, http.StatusBadRequest},
		{"message without sub-message", &scheduler.Call{Type: scheduler.Call_MESSAGE, FrameworkID: fw(sub.framework)}, sub.streamID, http.StatusBadRequest},
		{"request without sub-message", &scheduler.Call{Type: scheduler.Call_REQUEST, FrameworkID: fw(sub.framework)}, sub.streamID, http.StatusBadRequest},
		{"short ack uuid", calls.Acknowledge("a", "t", []byte("0123456789")).With(calls.Framework(sub.framework)), sub.streamID, http.StatusBadRequest},
		{"ack unknown agent", calls.Acknowledge("a", "t", uuid16).With(calls.Framework(sub.framework)), sub.streamID, http.StatusAccepted},
		{"revive needs no sub-message", &scheduler.Call{Type: scheduler.Call_REVIVE, FrameworkID: fw(sub.framework)}, sub.streamID, http.StatusAccepted},
		{"suppress needs no sub-message", &scheduler.Call{Type: scheduler.Call_SUPPRESS, FrameworkID: fw(sub.framework)}, sub.streamID, http.StatusAccepted},
		{"decline unknown offer", calls.Decline(mesos.OfferID{Value: "x"}).With(calls.Framework(sub.framework)), sub.streamID, http.StatusAccepted},
		{"reconcile empty", calls.Reconcile().With(calls.Framework(sub.framework)), sub.streamID, http.StatusAccepted},
		{"unknown type", &scheduler.Call{Type: scheduler.Call_UNKNOWN, FrameworkID: fw(sub.framework)}, sub.streamID, http.StatusNotImplemented},
	}
	for _, mt := range codecsUnderTest {
		for _, tc := range tests {
			t.Run(mt+"/"+tc.name, func(t *testing.T) {
				resp := h.rawPost(http.MethodPost, mt, "", tc.streamID, encodeCall(t, mt, tc.call))
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != tc.want {
					t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tc.want)
				}
				if tc.want == http.StatusAccepted && len(body) != 0 {
					t.Fatalf("202 with body %q", body)
				}
				if tc.want >= 400 && len(body) == 0 {
					t.Fatal("error without a reason")
				}
			})
		}
	}
}
