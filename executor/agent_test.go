package executor

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/recordio"
)

// fakeAgent is a minimal /api/v1/executor endpoint: it streams events to
// the subscribed executor in RecordIO framing, records every UPDATE, and
// acknowledges updates unless told not to.
type fakeAgent struct {
	t   testing.TB
	srv *httptest.Server

	updates    chan mesos.TaskStatus
	subscribes chan executor.Call_Subscribe

	mu      sync.Mutex
	events  chan *executor.Event // events for the current stream
	breakCh chan struct{}        // closing it ends the current stream
	noAck   bool
}

func newFakeAgent(t testing.TB) *fakeAgent {
	a := &fakeAgent{
		t:          t,
		updates:    make(chan mesos.TaskStatus, 64),
		subscribes: make(chan executor.Call_Subscribe, 8),
		events:     make(chan *executor.Event, 64),
		breakCh:    make(chan struct{}),
	}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *fakeAgent) endpoint() string {
	u, _ := url.Parse(a.srv.URL)
	return u.Host
}

func (a *fakeAgent) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/executor" || r.Method != http.MethodPost {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	ct := r.Header.Get("Content-Type")
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var call executor.Call
	if ct == "application/x-protobuf" {
		err = call.Unmarshal(body)
	} else {
		err = call.UnmarshalJSON(body)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if call.FrameworkID.Value == "" || call.ExecutorID.Value == "" {
		http.Error(w, "missing ids", http.StatusBadRequest)
		return
	}
	switch call.Type {
	case executor.Call_SUBSCRIBE:
		a.mu.Lock()
		breakCh := a.breakCh
		a.mu.Unlock()
		a.subscribes <- *call.Subscribe
		a.stream(w, r, ct, breakCh)
	case executor.Call_UPDATE:
		st := call.Update.Status
		if len(st.UUID) != 16 || st.GetSource() != mesos.SOURCE_EXECUTOR {
			http.Error(w, "bad update", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		a.updates <- st
		a.mu.Lock()
		noAck := a.noAck
		a.mu.Unlock()
		if !noAck {
			a.send(ackEvent(st))
		}
	default:
		w.WriteHeader(http.StatusAccepted)
	}
}

func (a *fakeAgent) stream(w http.ResponseWriter, r *http.Request, ct string, breakCh <-chan struct{}) {
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
	rw := recordio.NewWriter(w)
	write := func(ev *executor.Event) bool {
		var b []byte
		var err error
		if ct == "application/x-protobuf" {
			b, err = ev.Marshal()
		} else {
			b, err = ev.MarshalJSON()
		}
		if err != nil {
			a.t.Errorf("fake agent: encode event: %v", err)
			return false
		}
		if rw.WriteFrame(b) != nil {
			return false
		}
		w.(http.Flusher).Flush()
		return true
	}
	subscribed := &executor.Event{Type: executor.Event_SUBSCRIBED, Subscribed: &executor.Event_Subscribed{
		ExecutorInfo:  mesos.ExecutorInfo{ExecutorID: mesos.ExecutorID{Value: "ex"}},
		FrameworkInfo: mesos.FrameworkInfo{User: "fob", Name: "fob", ID: &mesos.FrameworkID{Value: "fw"}},
		AgentInfo:     mesos.AgentInfo{Hostname: "localhost", ID: &mesos.AgentID{Value: "agent-1"}},
	}}
	if !write(subscribed) {
		return
	}
	for {
		select {
		case ev := <-a.events:
			if !write(ev) {
				return
			}
		case <-breakCh:
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (a *fakeAgent) send(ev *executor.Event) { a.events <- ev }

// breakStream ends the current subscription stream.
func (a *fakeAgent) breakStream() {
	a.mu.Lock()
	close(a.breakCh)
	a.breakCh = make(chan struct{})
	a.mu.Unlock()
}

func (a *fakeAgent) setNoAck(b bool) {
	a.mu.Lock()
	a.noAck = b
	a.mu.Unlock()
}

// nextUpdate waits for the executor's next status update.
func (a *fakeAgent) nextUpdate(timeout time.Duration) mesos.TaskStatus {
	a.t.Helper()
	select {
	case st := <-a.updates:
		return st
	case <-time.After(timeout):
		a.t.Fatalf("no status update within %s", timeout)
		return mesos.TaskStatus{}
	}
}

func (a *fakeAgent) nextSubscribe(timeout time.Duration) executor.Call_Subscribe {
	a.t.Helper()
	select {
	case s := <-a.subscribes:
		return s
	case <-time.After(timeout):
		a.t.Fatalf("no SUBSCRIBE within %s", timeout)
		return executor.Call_Subscribe{}
	}
}

func ackEvent(st mesos.TaskStatus) *executor.Event {
	return &executor.Event{Type: executor.Event_ACKNOWLEDGED, Acknowledged: &executor.Event_Acknowledged{TaskID: st.TaskID, UUID: st.UUID}}
}

func launchEvent(info mesos.TaskInfo) *executor.Event {
	return &executor.Event{Type: executor.Event_LAUNCH, Launch: &executor.Event_Launch{Task: info}}
}

func killEvent(taskID string) *executor.Event {
	return &executor.Event{Type: executor.Event_KILL, Kill: &executor.Event_Kill{TaskID: mesos.TaskID{Value: taskID}}}
}
