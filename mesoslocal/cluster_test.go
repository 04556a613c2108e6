package mesoslocal

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
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

const waitTimeout = 10 * time.Second

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func startCluster(t *testing.T) *Cluster {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := Start(context.Background(), Config{
		WorkDir:            t.TempDir(),
		AllocationInterval: 50 * time.Millisecond,
		Logger:             log,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return c
}

// framework drives the cluster with mesos-go's own scheduler client.
type framework struct {
	t      *testing.T
	caller calls.Caller
	id     string
	events chan *scheduler.Event
}

func subscribe(t *testing.T, c *Cluster, mediaType string, info *mesos.FrameworkInfo) *framework {
	t.Helper()
	cli := httpcli.New(
		httpcli.Endpoint(c.SchedulerEndpoint()),
		httpcli.Codec(codecs.ByMediaType[encoding.MediaType(mediaType)]),
		httpcli.Do(httpcli.With(httpcli.Timeout(waitTimeout))),
	)
	caller := httpsched.NewCaller(cli, httpsched.MaxRedirects(1))
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := caller.Call(ctx, calls.Subscribe(info))
	if err != nil {
		cancel()
		t.Fatalf("subscribe: %v", err)
	}
	t.Cleanup(func() { cancel(); resp.Close() })
	f := &framework{t: t, caller: caller, events: make(chan *scheduler.Event, 100)}
	go func() {
		defer close(f.events)
		for {
			var ev scheduler.Event
			if err := resp.Decode(&ev); err != nil {
				return
			}
			f.events <- &ev
		}
	}()
	f.id = f.next(scheduler.Event_SUBSCRIBED).Subscribed.FrameworkID.Value
	return f
}

func (f *framework) next(typ scheduler.Event_Type) *scheduler.Event {
	f.t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case ev, ok := <-f.events:
			if !ok {
				f.t.Fatalf("stream closed while waiting for %s", typ)
			}
			if ev.Type == typ {
				return ev
			}
		case <-deadline:
			f.t.Fatalf("no %s event within %s", typ, waitTimeout)
		}
	}
}

func (f *framework) call(c *scheduler.Call) {
	f.t.Helper()
	c.FrameworkID = &mesos.FrameworkID{Value: f.id}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := calls.CallNoData(ctx, f.caller, c); err != nil {
		f.t.Fatalf("%s: %v", c.Type, err)
	}
}

// update waits for the next UPDATE and acknowledges it when reliable.
func (f *framework) update() mesos.TaskStatus {
	f.t.Helper()
	st := f.next(scheduler.Event_UPDATE).Update.Status
	if len(st.UUID) > 0 {
		f.call(calls.Acknowledge(st.AgentID.GetValue(), st.TaskID.Value, st.UUID))
	}
	return st
}

func commandTask(id string, offer mesos.Offer, command string) mesos.TaskInfo {
	cpus, mem := 0.1, 32.0
	return mesos.TaskInfo{
		Name:    id,
		TaskID:  mesos.TaskID{Value: id},
		AgentID: offer.AgentID,
		Resources: []mesos.Resource{
			{Name: "cpus", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: cpus}},
			{Name: "mem", Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: mem}},
		},
		Command: &mesos.CommandInfo{Value: &command},
	}
}

// Conformance: 32, 65, 66, 68, 74, 76, 77, 86
func TestCommandTaskEndToEnd(t *testing.T) {
	for _, mt := range []string{"application/json", "application/x-protobuf"} {
		t.Run(mt, func(t *testing.T) {
			c := startCluster(t)
			info := &mesos.FrameworkInfo{User: "nobody", Name: "e2e", Capabilities: []mesos.FrameworkInfo_Capability{
				{Type: mesos.FrameworkInfo_Capability_PARTITION_AWARE}}}
			f := subscribe(t, c, mt, info)

			offer := f.next(scheduler.Event_OFFERS).Offers.Offers[0]
			f.call(calls.Accept(calls.OfferOperations{calls.OpLaunch(
				commandTask("echo", offer, "echo hi"),
				commandTask("sleep", offer, "sleep 30"),
			)}.WithOffers(offer.ID)).With(calls.RefuseSeconds(time.Hour)))

			states := map[string][]mesos.TaskState{}
			killed := false
			for !done(states) {
				st := f.update()
				if len(st.UUID) != 16 || st.AgentID == nil || st.Timestamp == nil || st.Source == nil {
					t.Fatalf("agent update lacks uuid/agent_id/timestamp/source: %v", st)
				}
				states[st.TaskID.Value] = append(states[st.TaskID.Value], st.GetState())
				if st.TaskID.Value == "sleep" && st.GetState() == mesos.TASK_RUNNING && !killed {
					killed = true
					f.call(calls.Kill("sleep", offer.AgentID.Value))
				}
			}
			if got := last(states["echo"]); got != mesos.TASK_FINISHED {
				t.Errorf("echo ended %s (%v)", got, states["echo"])
			}
			if got := last(states["sleep"]); got != mesos.TASK_KILLED {
				t.Errorf("sleep ended %s (%v)", got, states["sleep"])
			}
			// Acknowledged terminal tasks are forgotten: explicit
			// reconciliation on the registered agent answers TASK_GONE.
			waitForgotten(t, f, "echo", offer.AgentID.Value)
		})
	}
}

func waitForgotten(t *testing.T, f *framework, task, agent string) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		f.call(calls.Reconcile(calls.ReconcileTasks(map[string]string{task: agent})))
		st := f.next(scheduler.Event_UPDATE).Update.Status
		if st.GetReason() != mesos.REASON_RECONCILIATION || len(st.UUID) != 0 {
			continue // a late agent update
		}
		if st.GetState() == mesos.TASK_GONE {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("task %s still known to the master", task)
}

func done(states map[string][]mesos.TaskState) bool {
	for _, id := range []string{"echo", "sleep"} {
		s := last(states[id])
		if s != mesos.TASK_FINISHED && s != mesos.TASK_KILLED && s != mesos.TASK_FAILED &&
			s != mesos.TASK_ERROR && s != mesos.TASK_LOST && s != mesos.TASK_DROPPED {
			return false
		}
	}
	return true
}

func last(s []mesos.TaskState) mesos.TaskState {
	if len(s) == 0 {
		return mesos.TASK_STAGING
	}
	return s[len(s)-1]
}

func TestClusterURLs(t *testing.T) {
	c := startCluster(t)
	if !strings.HasPrefix(c.URL(), "http://127.0.0.1:") {
		t.Fatalf("URL %q", c.URL())
	}
	if c.SchedulerEndpoint() != c.URL()+"/api/v1/scheduler" {
		t.Fatalf("SchedulerEndpoint %q", c.SchedulerEndpoint())
	}
	if n := len(c.Agents()); n != 1 {
		t.Fatalf("%d agents", n)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
}

// Conformance: 105
func TestClusterCredentials(t *testing.T) {
	c, err := Start(context.Background(), Config{
		WorkDir:     t.TempDir(),
		Credentials: map[string]string{"fob": "s3cret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	body, err := calls.Subscribe(&mesos.FrameworkInfo{User: "nobody", Name: "test"}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(c.SchedulerEndpoint(), "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("subscribe without credentials: status %d, want 401", resp.StatusCode)
	}
	cli := httpcli.New(
		httpcli.Endpoint(c.SchedulerEndpoint()),
		httpcli.Codec(codecs.ByMediaType[encoding.MediaType("application/json")]),
		httpcli.Do(httpcli.With(httpcli.Timeout(waitTimeout), httpcli.BasicAuth("fob", "s3cret"))),
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub, err := httpsched.NewCaller(cli, httpsched.MaxRedirects(0)).
		Call(ctx, calls.Subscribe(&mesos.FrameworkInfo{User: "nobody", Name: "test"}))
	if err != nil {
		t.Fatalf("subscribe with credentials: %v", err)
	}
	defer sub.Close()
	var ev scheduler.Event
	if err := sub.Decode(&ev); err != nil || ev.Type != scheduler.Event_SUBSCRIBED {
		t.Fatalf("first event %v (%v), want SUBSCRIBED", ev.Type, err)
	}
}
