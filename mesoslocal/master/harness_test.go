package master

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

const waitTimeout = 5 * time.Second

// harness runs a real Master over loopback HTTP with in-test agents.
type harness struct {
	t   *testing.T
	m   *Master
	url string // http://host:port/api/v1/scheduler
}

type harnessOpt func(*Config)

func newHarness(t *testing.T, opts ...harnessOpt) *harness {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Address:            l.Addr().String(),
		HeartbeatInterval:  time.Second,
		AllocationInterval: 50 * time.Millisecond,
	}
	for _, o := range opts {
		o(&cfg)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(&testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: m}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		if err := m.checkLoads(); err != nil {
			t.Errorf("per-agent index: %v", err)
		}
		_ = m.Close()
		_ = srv.Close()
	})
	return &harness{t: t, m: m, url: "http://" + l.Addr().String() + SchedulerPath}
}

type testWriter struct{ t *testing.T }

func (w *testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// fakeAgent is an in-test implementation of the Agent interface that
// records what the master asks of it.
type fakeAgent struct {
	info mesos.AgentInfo

	mu    sync.Mutex
	calls []agentCall
	wake  chan struct{}
}

type agentCall struct {
	kind   string // launch, kill, shutdown_executor, shutdown_framework, ack, message, reconnected
	fw     string
	task   mesos.TaskInfo
	taskID string
	exec   string
	uuid   []byte
	data   []byte
	policy *mesos.KillPolicy
}

func (h *harness) addAgent(res string) *fakeAgent {
	h.t.Helper()
	port := int32(5051)
	a := &fakeAgent{
		info: mesos.AgentInfo{
			ID:        ptr(h.m.NewAgentID()),
			Hostname:  "localhost",
			Port:      &port,
			Resources: mustResources(h.t, res),
		},
		wake: make(chan struct{}, 1),
	}
	h.m.AddAgent(a)
	return a
}

func (a *fakeAgent) record(c agentCall) {
	a.mu.Lock()
	a.calls = append(a.calls, c)
	a.mu.Unlock()
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

func (a *fakeAgent) Info() mesos.AgentInfo { return a.info }
func (a *fakeAgent) LaunchTask(fw mesos.FrameworkInfo, t mesos.TaskInfo) {
	a.record(agentCall{kind: "launch", fw: fw.GetID().GetValue(), task: t, taskID: t.TaskID.Value})
}
func (a *fakeAgent) KillTask(fw mesos.FrameworkID, t mesos.TaskID, p *mesos.KillPolicy) {
	a.record(agentCall{kind: "kill", fw: fw.Value, taskID: t.Value, policy: p})
}
func (a *fakeAgent) ShutdownExecutor(fw mesos.FrameworkID, e mesos.ExecutorID) {
	a.record(agentCall{kind: "shutdown_executor", fw: fw.Value, exec: e.Value})
}
func (a *fakeAgent) ShutdownFramework(fw mesos.FrameworkID) {
	a.record(agentCall{kind: "shutdown_framework", fw: fw.Value})
}
func (a *fakeAgent) Acknowledge(fw mesos.FrameworkID, t mesos.TaskID, uuid []byte) {
	a.record(agentCall{kind: "ack", fw: fw.Value, taskID: t.Value, uuid: uuid})
}
func (a *fakeAgent) SendFrameworkMessage(fw mesos.FrameworkID, e mesos.ExecutorID, data []byte) {
	a.record(agentCall{kind: "message", fw: fw.Value, exec: e.Value, data: data})
}
func (a *fakeAgent) FrameworkReconnected(fw mesos.FrameworkID) {
	a.record(agentCall{kind: "reconnected", fw: fw.Value})
}

// waitCall waits for a recorded call of the given kind and removes it.
func (a *fakeAgent) waitCall(t *testing.T, kind string) agentCall {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		a.mu.Lock()
		for i, c := range a.calls {
			if c.kind == kind {
				a.calls = append(a.calls[:i], a.calls[i+1:]...)
				a.mu.Unlock()
				return c
			}
		}
		a.mu.Unlock()
		select {
		case <-a.wake:
		case <-deadline:
			t.Fatalf("agent: no %s call within %s", kind, waitTimeout)
		}
	}
}

// hasCall reports whether a call of the kind was recorded (and keeps it).
func (a *fakeAgent) hasCall(kind string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.calls {
		if c.kind == kind {
			return true
		}
	}
	return false
}

// sched is a framework scheduler built from mesos-go's own client.
type sched struct {
	t      *testing.T
	caller calls.Caller
	id     string
	sub    *scheduler.Event_Subscribed
	events chan *scheduler.Event
	resp   mesos.Response
	cancel context.CancelFunc
}

var codecsUnderTest = []string{mediaJSON, mediaProtobuf}

func frameworkInfo(caps ...mesos.FrameworkInfo_Capability_Type) *mesos.FrameworkInfo {
	info := &mesos.FrameworkInfo{User: "nobody", Name: "test"}
	for _, c := range caps {
		info.Capabilities = append(info.Capabilities, mesos.FrameworkInfo_Capability{Type: c})
	}
	return info
}

func (h *harness) newCaller(mediaType string) calls.Caller {
	cli := httpcli.New(
		httpcli.Endpoint(h.url),
		httpcli.Codec(codecs.ByMediaType[codecsMediaType(mediaType)]),
		httpcli.Do(httpcli.With(httpcli.Timeout(waitTimeout))),
	)
	return httpsched.NewCaller(cli, httpsched.MaxRedirects(1), httpsched.AllowReconnection(true))
}

// subscribe subscribes with mesos-go and waits for SUBSCRIBED.
func (h *harness) subscribe(mediaType string, info *mesos.FrameworkInfo) *sched {
	h.t.Helper()
	s := h.subscribeWith(h.newCaller(mediaType), info)
	ev := s.next(scheduler.Event_SUBSCRIBED)
	s.sub = ev.Subscribed
	s.id = ev.Subscribed.FrameworkID.Value
	return s
}

func (h *harness) subscribeWith(caller calls.Caller, info *mesos.FrameworkInfo) *sched {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := caller.Call(ctx, calls.Subscribe(info))
	if err != nil {
		cancel()
		h.t.Fatalf("subscribe: %v", err)
	}
	s := &sched{t: h.t, caller: caller, events: make(chan *scheduler.Event, 1000), resp: resp, cancel: cancel}
	go func() {
		defer close(s.events)
		for {
			var ev scheduler.Event
			if err := resp.Decode(&ev); err != nil {
				return
			}
			s.events <- &ev
		}
	}()
	h.t.Cleanup(s.close)
	return s
}

func (s *sched) close() {
	s.cancel()
	_ = s.resp.Close()
}

// call sends a non-SUBSCRIBE call through mesos-go, which adds the stream id.
func (s *sched) call(c *scheduler.Call) error {
	s.t.Helper()
	c.FrameworkID = &mesos.FrameworkID{Value: s.id}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	return calls.CallNoData(ctx, s.caller, c)
}

func (s *sched) mustCall(c *scheduler.Call) {
	s.t.Helper()
	if err := s.call(c); err != nil {
		s.t.Fatalf("%s call: %v", c.Type, err)
	}
}

// next waits for the next event of one of the given types, skipping others.
func (s *sched) next(types ...scheduler.Event_Type) *scheduler.Event {
	s.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				s.t.Fatalf("stream closed while waiting for %v", types)
			}
			for _, typ := range types {
				if ev.Type == typ {
					return ev
				}
			}
		case <-deadline:
			s.t.Fatalf("no %v event within %s", types, waitTimeout)
		}
	}
}

// none asserts no event of the given type arrives within d.
func (s *sched) none(typ scheduler.Event_Type, d time.Duration) {
	s.t.Helper()
	deadline := time.After(d)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return
			}
			if ev.Type == typ {
				s.t.Fatalf("unexpected %s event: %v", typ, ev)
			}
		case <-deadline:
			return
		}
	}
}

// offer waits for the next OFFERS event and returns its first offer.
func (s *sched) offer() mesos.Offer {
	s.t.Helper()
	ev := s.next(scheduler.Event_OFFERS)
	if len(ev.Offers.Offers) == 0 {
		s.t.Fatal("OFFERS event without offers")
	}
	return ev.Offers.Offers[0]
}

// update waits for the next UPDATE event.
func (s *sched) update() mesos.TaskStatus {
	s.t.Helper()
	return s.next(scheduler.Event_UPDATE).Update.Status
}

// rawClient never follows redirects, so 307 answers can be inspected.
var rawClient = &http.Client{
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// rawPost sends a raw HTTP request to the scheduler endpoint.
func (h *harness) rawPost(method, contentType, accept, streamID string, body []byte) *http.Response {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if streamID != "" {
		req.Header.Set("Mesos-Stream-Id", streamID)
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	return resp
}

// recordReader reads RecordIO frames byte-exactly.
type recordReader struct{ r *bufio.Reader }

func (rr recordReader) next() ([]byte, error) {
	line, err := rr.r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSuffix(line, "\n"))
	if err != nil {
		return nil, fmt.Errorf("bad record length %q: %w", line, err)
	}
	if n <= 0 {
		return nil, fmt.Errorf("record length %d", n)
	}
	buf := make([]byte, n)
	_, err = io.ReadFull(rr.r, buf)
	return buf, err
}

func encodeCall(t *testing.T, mediaType string, c *scheduler.Call) []byte {
	t.Helper()
	var (
		b   []byte
		err error
	)
	if mediaType == mediaProtobuf {
		b, err = c.Marshal()
	} else {
		b, err = c.MarshalJSON()
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeEvent(t *testing.T, mediaType string, b []byte) *scheduler.Event {
	t.Helper()
	var ev scheduler.Event
	var err error
	if mediaType == mediaProtobuf {
		err = ev.Unmarshal(b)
	} else {
		err = ev.UnmarshalJSON(b)
	}
	if err != nil {
		t.Fatalf("decode event %q: %v", b, err)
	}
	return &ev
}

func ptr[T any](v T) *T { return &v }

func scalar(name string, v float64) mesos.Resource {
	return mesos.Resource{Name: name, Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}}
}

func portRange(begin, end uint64) mesos.Resource {
	return mesos.Resource{Name: "ports", Type: mesos.RANGES.Enum(),
		Ranges: &mesos.Value_Ranges{Range: []mesos.Value_Range{{Begin: begin, End: end}}}}
}

// mustResources parses "cpus:4;mem:1024;ports:[31000-31010]" for tests.
func mustResources(t *testing.T, s string) mesos.Resources {
	var rs mesos.Resources
	for _, part := range strings.Split(s, ";") {
		name, val, _ := strings.Cut(part, ":")
		if strings.HasPrefix(val, "[") {
			lo, hi, _ := strings.Cut(strings.Trim(val, "[]"), "-")
			b, _ := strconv.ParseUint(lo, 10, 64)
			e, _ := strconv.ParseUint(hi, 10, 64)
			rs = append(rs, portRange(b, e))
			continue
		}
		f, err := strconv.ParseFloat(val, 64)
		if err != nil {
			panic(fmt.Sprintf("resource %q: %v", part, err))
		}
		rs = append(rs, scalar(name, f))
	}
	return rs
}

func cpus(rs []mesos.Resource) float64 {
	var total float64
	for _, r := range rs {
		if r.Name == "cpus" {
			total += r.GetScalar().GetValue()
		}
	}
	return total
}

func codecsMediaType(s string) encoding.MediaType { return encoding.MediaType(s) }

// waitFor polls cond until it holds or the wait times out.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func recordReaderFor(resp *http.Response) recordReader {
	return recordReader{bufio.NewReader(resp.Body)}
}
