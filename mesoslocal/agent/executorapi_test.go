package agent

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
)

// Conformance: 110, 112, 113, 120 (HEARTBEAT call)
func TestExecutorAPIStatusCodes(t *testing.T) {
	m := newFakeMaster(false)
	a := newTestAgent(t, m, nil)
	a.LaunchTask(testFramework(), testTask("t1", sleepExecutorInfo("e1")))
	waitExecutorState(t, a, "e1", executorRegistering)
	c := newRawClient(t, a, mediaJSON, "e1")

	update := func(mut func(*mesos.TaskStatus)) *executor.Call {
		st := execStatus("t1", mesos.TASK_RUNNING)
		mut(&st)
		return &executor.Call{Type: executor.Call_UPDATE, Update: &executor.Call_Update{Status: st}}
	}
	subscribeBody := c.encode(&executor.Call{Type: executor.Call_SUBSCRIBE, Subscribe: &executor.Call_Subscribe{}})

	before := []struct {
		name        string
		method      string
		body        []byte
		contentType string
		accept      string
		want        int
	}{
		{"GET is not allowed", http.MethodGet, nil, "application/json", "", http.StatusMethodNotAllowed},
		{"missing content type", http.MethodPost, subscribeBody, "", "", http.StatusBadRequest},
		{"unsupported content type", http.MethodPost, subscribeBody, "text/plain", "", http.StatusUnsupportedMediaType},
		{"unparsable body", http.MethodPost, []byte("{nope"), "application/json", "", http.StatusBadRequest},
		{"unacceptable accept", http.MethodPost, subscribeBody, "application/json", "text/html", http.StatusNotAcceptable},
		{"unknown framework", http.MethodPost, c.encode(&executor.Call{FrameworkID: mesos.FrameworkID{Value: "nope"}, Type: executor.Call_SUBSCRIBE, Subscribe: &executor.Call_Subscribe{}}), "application/json", "", http.StatusBadRequest},
		{"unknown executor", http.MethodPost, c.encode(&executor.Call{ExecutorID: mesos.ExecutorID{Value: "nope"}, Type: executor.Call_SUBSCRIBE, Subscribe: &executor.Call_Subscribe{}}), "application/json", "", http.StatusBadRequest},
		{"subscribe without subscribe", http.MethodPost, c.encode(&executor.Call{Type: executor.Call_SUBSCRIBE}), "application/json", "", http.StatusBadRequest},
		{"update before subscribe", http.MethodPost, c.encode(update(func(*mesos.TaskStatus) {})), "application/json", "", http.StatusForbidden},
		{"message before subscribe", http.MethodPost, c.encode(&executor.Call{Type: executor.Call_MESSAGE, Message: &executor.Call_Message{Data: []byte("x")}}), "application/json", "", http.StatusForbidden},
		{"heartbeat before subscribe", http.MethodPost, c.encode(&executor.Call{Type: executor.Call_HEARTBEAT}), "application/json", "", http.StatusAccepted},
	}
	for _, tc := range before {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, c.url, bytes.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			if tc.accept != "" {
				req.Header.Set("Accept", tc.accept)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}

	es := c.subscribe(nil)
	es.expect(executor.Event_SUBSCRIBED)
	es.expect(executor.Event_LAUNCH)

	after := []struct {
		name string
		call *executor.Call
		want int
	}{
		{"uuid missing", update(func(s *mesos.TaskStatus) { s.UUID = nil }), http.StatusBadRequest},
		{"uuid not 16 bytes", update(func(s *mesos.TaskStatus) { s.UUID = []byte("short") }), http.StatusBadRequest},
		{"source agent", update(func(s *mesos.TaskStatus) { src := mesos.SOURCE_AGENT; s.Source = &src }), http.StatusBadRequest},
		{"source missing", update(func(s *mesos.TaskStatus) { s.Source = nil }), http.StatusBadRequest},
		{"state staging", update(func(s *mesos.TaskStatus) { st := mesos.TASK_STAGING; s.State = &st }), http.StatusBadRequest},
		{"executor id mismatch", update(func(s *mesos.TaskStatus) { s.ExecutorID = &mesos.ExecutorID{Value: "other"} }), http.StatusBadRequest},
		{"valid update", update(func(*mesos.TaskStatus) {}), http.StatusAccepted},
		{"message", &executor.Call{Type: executor.Call_MESSAGE, Message: &executor.Call_Message{Data: []byte("x")}}, http.StatusAccepted},
		{"heartbeat", &executor.Call{Type: executor.Call_HEARTBEAT}, http.StatusAccepted},
		{"unknown call type", &executor.Call{Type: executor.Call_UNKNOWN}, http.StatusNotImplemented},
	}
	for _, tc := range after {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.call(tc.call); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
}

// Conformance: 66, 110, 111, 114, 115, 119, 120
func TestExecutorSubscribeStream(t *testing.T) {
	for _, media := range []mediaType{mediaJSON, mediaProtobuf} {
		t.Run(string(media), func(t *testing.T) {
			m := newFakeMaster(false)
			a := newTestAgent(t, m, func(c *Config) { c.ExecutorHeartbeatInterval = 100 * time.Millisecond })
			fw := testFramework()
			a.LaunchTask(fw, testTask("t1", sleepExecutorInfo("e1")))
			waitExecutorState(t, a, "e1", executorRegistering)
			c := newRawClient(t, a, media, "e1")
			es := c.subscribe(nil)

			sub := es.expect(executor.Event_SUBSCRIBED).Subscribed
			if sub.ExecutorInfo.ExecutorID.Value != "e1" || sub.FrameworkInfo.GetID().GetValue() != "fw-1" ||
				sub.AgentInfo.Hostname != DefaultHostname || sub.AgentInfo.GetID().GetValue() != "agent-1" ||
				sub.GetContainerID().GetValue() == "" {
				t.Fatalf("incomplete SUBSCRIBED: %+v", sub)
			}
			if got := es.expect(executor.Event_LAUNCH).Launch.Task.TaskID.Value; got != "t1" {
				t.Fatalf("LAUNCH for %q", got)
			}
			// A task launched now goes straight to the subscribed executor.
			a.LaunchTask(fw, testTask("t2", sleepExecutorInfo("e1")))
			es.expect(executor.Event_LAUNCH)

			st := execStatus("t1", mesos.TASK_RUNNING)
			if code := c.call(&executor.Call{Type: executor.Call_UPDATE, Update: &executor.Call_Update{Status: st}}); code != http.StatusAccepted {
				t.Fatalf("update: %d", code)
			}
			ack := es.expect(executor.Event_ACKNOWLEDGED).Acknowledged
			if ack.TaskID.Value != "t1" || !bytes.Equal(ack.UUID, st.UUID) {
				t.Fatalf("ACKNOWLEDGED %+v", ack)
			}
			got := m.waitUpdate(t, "t1", mesos.TASK_RUNNING)
			if !bytes.Equal(got.UUID, st.UUID) || got.GetAgentID().GetValue() != "agent-1" ||
				got.GetExecutorID().GetValue() != "e1" || got.Timestamp == nil || got.GetSource() != mesos.SOURCE_EXECUTOR {
				t.Fatalf("forwarded update lacks fields: %+v", got)
			}
			// The same uuid again is re-acknowledged but not forwarded.
			if code := c.call(&executor.Call{Type: executor.Call_UPDATE, Update: &executor.Call_Update{Status: st}}); code != http.StatusAccepted {
				t.Fatalf("duplicate update: %d", code)
			}
			es.expect(executor.Event_ACKNOWLEDGED)
			if n := m.count("t1", mesos.TASK_RUNNING); n != 1 {
				t.Fatalf("duplicate forwarded: %d RUNNING updates", n)
			}

			c.call(&executor.Call{Type: executor.Call_MESSAGE, Message: &executor.Call_Message{Data: []byte("to-scheduler")}})
			m.waitFor(t, "executor message", func() bool { return len(m.messages) == 1 && m.messages[0] == "to-scheduler" })
			a.SendFrameworkMessage(mesos.FrameworkID{Value: "fw-1"}, mesos.ExecutorID{Value: "e1"}, []byte("to-executor"))
			if msg := es.expect(executor.Event_MESSAGE).Message; string(msg.Data) != "to-executor" {
				t.Fatalf("MESSAGE %q", msg.Data)
			}
			// Heartbeat events arrive at the configured interval.
			deadline := time.After(5 * time.Second)
			for {
				select {
				case ev := <-es.events:
					if ev.Type != executor.Event_HEARTBEAT {
						t.Fatalf("unexpected event %s", ev.Type)
					}
				case <-deadline:
					t.Fatal("no HEARTBEAT event")
				}
				break
			}
		})
	}
}

// Conformance: 116
func TestExecutorResubscribe(t *testing.T) {
	tests := []struct {
		name string
		caps []mesos.FrameworkInfo_Capability_Type
		want mesos.TaskState
	}{
		{"not partition aware", nil, mesos.TASK_LOST},
		{"partition aware", []mesos.FrameworkInfo_Capability_Type{mesos.FrameworkInfo_Capability_PARTITION_AWARE}, mesos.TASK_DROPPED},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newFakeMaster(false)
			a := newTestAgent(t, m, nil)
			fw := testFramework(tc.caps...)
			a.LaunchTask(fw, testTask("t1", sleepExecutorInfo("e1")))
			a.LaunchTask(fw, testTask("t2", sleepExecutorInfo("e1")))
			a.LaunchTask(fw, testTask("t3", sleepExecutorInfo("e1")))
			waitExecutorState(t, a, "e1", executorRegistering)
			c := newRawClient(t, a, mediaJSON, "e1")
			first := c.subscribe(nil)
			first.expect(executor.Event_SUBSCRIBED)
			for range 3 {
				first.expect(executor.Event_LAUNCH)
			}
			running := execStatus("t1", mesos.TASK_RUNNING)
			c.call(&executor.Call{Type: executor.Call_UPDATE, Update: &executor.Call_Update{Status: running}})
			m.waitUpdate(t, "t1", mesos.TASK_RUNNING)

			// Reconnect: t1's update unacknowledged, t2 known, t3 forgotten.
			finished := execStatus("t2", mesos.TASK_FINISHED)
			execID := mesos.ExecutorID{Value: "e1"}
			finished.ExecutorID = &execID
			second := c.subscribe(&executor.Call_Subscribe{
				UnacknowledgedTasks:   []mesos.TaskInfo{testTask("t2", sleepExecutorInfo("e1"))},
				UnacknowledgedUpdates: []executor.Call_Update{{Status: running}, {Status: finished}},
			})
			first.expectClosed()
			second.expect(executor.Event_SUBSCRIBED)
			acked := map[string]bool{}
			for range 2 {
				acked[second.expect(executor.Event_ACKNOWLEDGED).Acknowledged.TaskID.Value] = true
			}
			if !acked["t1"] || !acked["t2"] {
				t.Fatalf("replayed updates not acknowledged: %v", acked)
			}
			lost := m.waitUpdate(t, "t3", tc.want)
			if lost.GetReason() != mesos.REASON_AGENT_RESTARTED || lost.GetSource() != mesos.SOURCE_AGENT {
				t.Fatalf("t3: %s %s", lost.GetReason(), lost.GetSource())
			}
			if n := m.count("t1", mesos.TASK_RUNNING); n != 1 {
				t.Fatalf("replayed duplicate forwarded: %d", n)
			}
			m.waitUpdate(t, "t2", mesos.TASK_FINISHED)
		})
	}
}
