package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/recordio"
)

func TestMain(m *testing.M) {
	if os.Getenv(testExecutorEnv) == "1" {
		os.Exit(runTestExecutor())
	}
	if os.Getenv(testAgentHostEnv) != "" {
		os.Exit(runAgentHost())
	}
	os.Exit(m.Run())
}

// fakeMaster records what the agent reports. With autoAck it acknowledges
// every reliable update from inside StatusUpdate, as a master relaying a
// prompt scheduler would (and proving the agent tolerates the re-entry).
type fakeMaster struct {
	autoAck bool
	agent   *Agent

	mu         sync.Mutex
	updates    []mesos.TaskStatus
	messages   []string
	terminated map[string]int
	changed    chan struct{}
}

func newFakeMaster(autoAck bool) *fakeMaster {
	return &fakeMaster{autoAck: autoAck, terminated: map[string]int{}, changed: make(chan struct{}, 1)}
}

func (m *fakeMaster) StatusUpdate(_ mesos.AgentID, st mesos.TaskStatus) {
	m.mu.Lock()
	m.updates = append(m.updates, st)
	m.mu.Unlock()
	m.poke()
	if m.autoAck && len(st.UUID) > 0 {
		m.agent.Acknowledge(mesos.FrameworkID{Value: "fw-1"}, st.TaskID, st.UUID)
	}
}

func (m *fakeMaster) ExecutorMessage(_ mesos.FrameworkID, _ mesos.AgentID, _ mesos.ExecutorID, data []byte) {
	m.mu.Lock()
	m.messages = append(m.messages, string(data))
	m.mu.Unlock()
	m.poke()
}

func (m *fakeMaster) ExecutorTerminated(_ mesos.FrameworkID, _ mesos.AgentID, exec mesos.ExecutorID, ws int) {
	m.mu.Lock()
	m.terminated[exec.Value] = ws
	m.mu.Unlock()
	m.poke()
}

func (m *fakeMaster) poke() {
	select {
	case m.changed <- struct{}{}:
	default:
	}
}

// waitFor polls cond under the master's lock until it holds.
func (m *fakeMaster) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		m.mu.Lock()
		ok := cond()
		m.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-m.changed:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			m.mu.Lock()
			defer m.mu.Unlock()
			t.Fatalf("timed out waiting for %s; updates: %s", what, describe(m.updates))
		}
	}
}

// waitUpdate returns the first update for task in state.
func (m *fakeMaster) waitUpdate(t *testing.T, task string, state mesos.TaskState) mesos.TaskStatus {
	t.Helper()
	var got mesos.TaskStatus
	m.waitFor(t, task+" "+state.String(), func() bool {
		for _, u := range m.updates {
			if u.TaskID.Value == task && u.GetState() == state {
				got = u
				return true
			}
		}
		return false
	})
	return got
}

func (m *fakeMaster) count(task string, state mesos.TaskState) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, u := range m.updates {
		if u.TaskID.Value == task && u.GetState() == state {
			n++
		}
	}
	return n
}

func (m *fakeMaster) waitTerminated(t *testing.T, exec string) int {
	t.Helper()
	var ws int
	m.waitFor(t, "executor "+exec+" terminated", func() bool {
		var ok bool
		ws, ok = m.terminated[exec]
		return ok
	})
	return ws
}

func describe(us []mesos.TaskStatus) string {
	var b bytes.Buffer
	for _, u := range us {
		b.WriteString(u.TaskID.Value + ":" + u.GetState().String() + "/" + u.GetReason().String() + "(" + u.GetMessage() + ") ")
	}
	return b.String()
}

// newTestAgent starts an agent with short timers; mod adjusts the config.
func newTestAgent(t *testing.T, m *fakeMaster, mod func(*Config)) *Agent {
	t.Helper()
	cfg := Config{
		ID:                  mesos.AgentID{Value: "agent-1"},
		WorkDir:             t.TempDir(),
		UpdateRetryInitial:  time.Minute,
		RegistrationTimeout: 20 * time.Second,
		ShutdownGracePeriod: 2 * time.Second,
		Resources:           mesos.Resources{},
	}
	if mod != nil {
		mod(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	a, err := New(cfg, m, log)
	if err != nil {
		t.Fatal(err)
	}
	m.agent = a
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func testFramework(caps ...mesos.FrameworkInfo_Capability_Type) mesos.FrameworkInfo {
	id := mesos.FrameworkID{Value: "fw-1"}
	info := mesos.FrameworkInfo{User: "root", Name: "test", ID: &id}
	for _, c := range caps {
		info.Capabilities = append(info.Capabilities, mesos.FrameworkInfo_Capability{Type: c})
	}
	return info
}

func strp(s string) *string { return &s }
func boolp(b bool) *bool    { return &b }

// testExecutorInfo is an ExecutorInfo running this test binary as a
// mesos-go executor in the given mode and codec.
func testExecutorInfo(t *testing.T, id, mode, codec string) *mesos.ExecutorInfo {
	t.Helper()
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &mesos.ExecutorInfo{
		Type:       mesos.ExecutorInfo_CUSTOM,
		ExecutorID: mesos.ExecutorID{Value: id},
		Command: &mesos.CommandInfo{
			Shell:     boolp(false),
			Value:     strp(bin),
			Arguments: []string{"test-executor"},
			Environment: &mesos.Environment{Variables: []mesos.Environment_Variable{
				{Name: testExecutorEnv, Value: strp("1")},
				{Name: "TEST_EXEC_MODE", Value: strp(mode)},
				{Name: "TEST_EXEC_CODEC", Value: strp(codec)},
			}},
		},
	}
}

// sleepExecutorInfo is an executor that never subscribes by itself, so the
// test can speak the executor API in its place.
func sleepExecutorInfo(id string) *mesos.ExecutorInfo {
	return &mesos.ExecutorInfo{
		Type:       mesos.ExecutorInfo_CUSTOM,
		ExecutorID: mesos.ExecutorID{Value: id},
		Command:    &mesos.CommandInfo{Value: strp("exec sleep 300")},
	}
}

func testTask(id string, exec *mesos.ExecutorInfo) mesos.TaskInfo {
	return mesos.TaskInfo{
		Name:      id,
		TaskID:    mesos.TaskID{Value: id},
		AgentID:   mesos.AgentID{Value: "agent-1"},
		Resources: mesos.Resources{scalar("cpus", 0.1)},
		Executor:  exec,
	}
}

func scalar(name string, v float64) mesos.Resource {
	return mesos.Resource{Name: name, Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}}
}

// rawClient speaks the executor API directly, for checks a mesos-go
// executor would hide (status codes, headers, event order).
type rawClient struct {
	t     *testing.T
	url   string
	media mediaType
	fw    string
	exec  string
}

func newRawClient(t *testing.T, a *Agent, media mediaType, exec string) *rawClient {
	return &rawClient{t: t, url: "http://" + a.Endpoint() + "/api/v1/executor", media: media, fw: "fw-1", exec: exec}
}

func (c *rawClient) encode(call *executor.Call) []byte {
	c.t.Helper()
	if call.FrameworkID.Value == "" {
		call.FrameworkID.Value = c.fw
	}
	if call.ExecutorID.Value == "" {
		call.ExecutorID.Value = c.exec
	}
	var b []byte
	var err error
	if c.media == mediaProtobuf {
		b, err = call.Marshal()
	} else {
		b, err = json.Marshal(call)
	}
	if err != nil {
		c.t.Fatal(err)
	}
	return b
}

func (c *rawClient) post(body []byte, contentType, accept string) *http.Response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	return resp
}

// call sends a non-streaming call and returns the status code.
func (c *rawClient) call(call *executor.Call) int {
	c.t.Helper()
	resp := c.post(c.encode(call), string(c.media), string(c.media))
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func (c *rawClient) subscribe(s *executor.Call_Subscribe) *eventStream {
	c.t.Helper()
	if s == nil {
		s = &executor.Call_Subscribe{}
	}
	resp := c.post(c.encode(&executor.Call{Type: executor.Call_SUBSCRIBE, Subscribe: s}), string(c.media), string(c.media))
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		c.t.Fatalf("subscribe: %d %s", resp.StatusCode, b)
	}
	if got := resp.Header.Get("Content-Type"); got != string(c.media) {
		c.t.Fatalf("subscribe Content-Type %q, want %q", got, c.media)
	}
	if resp.ContentLength != -1 || resp.Header.Get("Content-Length") != "" {
		c.t.Fatalf("subscribe response has a Content-Length")
	}
	if resp.Header.Get("Mesos-Stream-Id") != "" {
		c.t.Fatalf("executor subscribe must not carry Mesos-Stream-Id")
	}
	es := &eventStream{t: c.t, body: resp.Body, events: make(chan *executor.Event, 100), media: c.media}
	go es.read()
	c.t.Cleanup(func() { resp.Body.Close() })
	return es
}

type eventStream struct {
	t      *testing.T
	body   io.ReadCloser
	media  mediaType
	events chan *executor.Event
}

func (s *eventStream) read() {
	defer close(s.events)
	r := recordio.NewReader(s.body)
	for {
		frame, err := r.ReadFrame()
		if err != nil {
			return
		}
		var ev executor.Event
		if s.media == mediaProtobuf {
			err = ev.Unmarshal(frame)
		} else {
			err = json.Unmarshal(frame, &ev)
		}
		if err != nil {
			return
		}
		s.events <- &ev
	}
}

// next returns the next event that is not a HEARTBEAT.
func (s *eventStream) next() *executor.Event {
	s.t.Helper()
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatal("event stream closed")
			}
			if ev.Type != executor.Event_HEARTBEAT {
				return ev
			}
		case <-time.After(10 * time.Second):
			s.t.Fatal("timed out waiting for an executor event")
		}
	}
}

func (s *eventStream) expect(typ executor.Event_Type) *executor.Event {
	s.t.Helper()
	ev := s.next()
	if ev.Type != typ {
		s.t.Fatalf("got event %s, want %s", ev.Type, typ)
	}
	return ev
}

// expectClosed waits for the stream to end.
func (s *eventStream) expectClosed() {
	s.t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-s.events:
			if !ok {
				return
			}
		case <-timeout:
			s.t.Fatal("stream not closed")
		}
	}
}

func execStatus(task string, state mesos.TaskState) mesos.TaskStatus {
	src := mesos.SOURCE_EXECUTOR
	return mesos.TaskStatus{TaskID: mesos.TaskID{Value: task}, State: &state, Source: &src, UUID: newUUID()}
}

// waitExecutorState waits until the agent has the executor in state.
func waitExecutorState(t *testing.T, a *Agent, exec string, want executorState) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		a.mu.Lock()
		var st executorState = -1
		ready := false
		if fw := a.frameworks["fw-1"]; fw != nil {
			if ex := fw.executors[exec]; ex != nil {
				st = ex.state
				ready = ex.container != nil
			}
		}
		a.mu.Unlock()
		if st == want && (want != executorRegistering || ready) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("executor %s never reached %s", exec, want)
}
