package faults

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// stream returns the master's current stream id for fob, "" while fob is
// not subscribed.
func (e *env) stream(fw mesos.FrameworkID) string {
	return e.cluster.Master.Framework(fw).StreamID
}

// waitResubscribed waits until fob holds a subscription other than old.
func (e *env) waitResubscribed(fw mesos.FrameworkID, old string, d time.Duration) string {
	e.t.Helper()
	var cur string
	e.eventually(d, "fob subscribes again", func() error {
		if cur = e.stream(fw); cur == "" || cur == old {
			return errors.New("still on the old subscription or none")
		}
		return nil
	})
	return cur
}

// startWith starts fob, registers n functions and waits until they run.
func (e *env) startWith(n int) map[string]string {
	e.t.Helper()
	e.startServer()
	want := map[string]string{}
	for i := 0; i < n; i++ {
		r := fmt.Sprintf("f%d-v1", i)
		want[e.register(r)] = r
	}
	e.settle(want)
	return want
}

// TestStreamDropped breaks fob's subscription connection three times, as
// a network failure does. fob must re-subscribe with its framework id
// (backing off), keep its tasks, reconcile, get the functions registered
// meanwhile running, and fail no call: calls never need the master.
// Conformance: 73, 90, 94, 95, 108.
func TestStreamDropped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	run := e.watch(e.startWith(2))
	want, fw := run.want, run.fw
	for i := 0; i < 3; i++ {
		if i == 1 {
			// A function whose launch is under way when the stream
			// breaks: its updates reach the agent while fob is away
			// and are resent when it is back.
			r := "late-v1"
			want[e.register(r)] = r
			e.eventually(10*time.Second, "the late function is launched", func() error {
				for id, res := range want {
					if res == r && len(e.liveTasks(id)) == 0 {
						return errors.New("no task yet")
					}
				}
				return nil
			})
		}
		old := e.stream(fw)
		must(t, e.cluster.Master.DropStream(fw))
		e.waitResubscribed(fw, old, 20*time.Second)
	}
	run.end("disconnections")
}

// TestStreamDroppedWithCallInFlight breaks fob's stream while one of its
// calls is on the wire: the master has handled it, the answer arrives only
// after fob has seen the stream end. mesos-go's client marks itself
// connected again when such a late answer comes back, and without
// reconnection allowed it then refuses every SUBSCRIBE as "already
// subscribed": fob would never come back. fob must subscribe again and
// launch what it was asked to.
// Conformance: 94, 95.
func TestStreamDroppedWithCallInFlight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	want := e.startWith(1)
	fw := e.frameworkID()
	calls := e.streamCalls(want)

	held, release := e.cluster.Master.HoldAnswers()
	defer release()
	// A new function makes fob call the master (REVIVE, then ACCEPT).
	r := "in-flight-v1"
	want[e.register(r)] = r
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("fob made no call to the master after a registration")
	}
	old := e.stream(fw)
	must(t, e.cluster.Master.DropStream(fw))
	// Let fob's stream reader see the end before the answer comes back.
	e.eventually(10*time.Second, "the master sees fob disconnected", func() error {
		if e.cluster.Master.Framework(fw).Connected {
			return errors.New("still connected")
		}
		return nil
	})
	time.Sleep(300 * time.Millisecond)
	release()
	e.waitResubscribed(fw, old, 20*time.Second)
	e.settle(want)
	calls.finish(t)
}

// TestStreamFrozen freezes fob's subscription: the connection stays open
// but nothing arrives, not even heartbeats. Only fob's heartbeat watchdog
// can notice; its new SUBSCRIBE fails the frozen stream over on the master.
// Tasks stay, calls keep working.
// Conformance: 92, 100, 101, 102.
func TestStreamFrozen(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	run := e.watch(e.startWith(2))
	old := e.stream(run.fw)
	must(t, e.cluster.Master.FreezeStream(run.fw))
	e.waitResubscribed(run.fw, old, 20*time.Second)
	run.after("frozen stream", "after-freeze-v1")
}

// TestMasterRedirectsThenUnavailable puts fob behind a master that is not
// the leader: fob is configured with a standby's address, which answers
// every request with 307 to the leader, as Mesos does. Then the leader
// itself redirects to the standby (leadership in flux) and drops fob's
// stream, and then no master leads and both answer 503 for a while. fob
// must follow the leader for every call, not just for SUBSCRIBE, back off
// while there is none, and end up subscribed with its tasks intact; calls
// to functions never fail.
// Conformance: 31, 103, 104, 108.
func TestMasterRedirectsThenUnavailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	leader := strings.TrimPrefix(e.cluster.URL(), "http://")
	var noLeader atomic.Bool
	var redirected, refused atomic.Int64
	standby := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if noLeader.Load() {
			refused.Add(1)
			http.Error(w, "No leader elected", http.StatusServiceUnavailable)
			return
		}
		redirected.Add(1)
		w.Header().Set("Location", "//"+leader+r.URL.RequestURI())
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	t.Cleanup(standby.Close)
	e.cfg.Scheduler.MasterURL = standby.URL
	run := e.watch(e.startWith(2))
	fw := run.fw

	// Leadership in flux: the leader points at the standby, which points
	// back. The stream drops, so fob must subscribe again and cannot.
	old := e.stream(fw)
	e.cluster.Master.SetRedirect(strings.TrimPrefix(standby.URL, "http://"))
	must(t, e.cluster.Master.DropStream(fw))
	seen := redirected.Load()
	e.eventually(20*time.Second, "fob retries against the redirect loop", func() error {
		if redirected.Load() < seen+2 {
			return errors.New("fob has not come back to the standby twice")
		}
		return nil
	})
	// No leader at all.
	e.cluster.Master.SetRedirect("")
	e.cluster.Master.SetUnavailable(true)
	noLeader.Store(true)
	e.eventually(20*time.Second, "fob retries while no master leads", func() error {
		if refused.Load() < 2 {
			return errors.New("fob has not asked the standby twice")
		}
		return nil
	})
	if e.cluster.Master.Framework(fw).Connected {
		t.Fatal("fob is subscribed while no master leads")
	}
	noLeader.Store(false)
	e.cluster.Master.SetUnavailable(false)

	e.waitResubscribed(fw, old, 30*time.Second)
	// Launching needs ACCEPT calls, which must reach the leader too.
	run.after("election", "after-election-v1")
}

// TestMasterRestart wipes the master's memory (a master failover): every
// framework, offer and task record is gone and the agents re-register a
// few seconds later; until then reconciliation about their tasks gets no
// answer. fob must re-subscribe with its id, keep asking, adopt its tasks
// when the agents are back and launch no duplicate meanwhile.
// Conformance: 18, 46, 89, 90, 99.
func TestMasterRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	run := e.watch(e.startWith(2))
	e.cluster.Master.Restart(3 * time.Second)
	e.waitResubscribed(run.fw, "", 20*time.Second)
	run.after("master restart", "after-restart-v1")
}

// TestMasterBounce restarts the master with its memory: every stream
// breaks and the master answers 503 for a while, then serves the same
// frameworks and tasks again. fob must retry through the 503s,
// re-subscribe with its id and keep every task as it was.
// Conformance: 94, 95, 104, 108.
func TestMasterBounce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	run := e.watch(e.startWith(2))
	old := e.stream(run.fw)
	e.cluster.Master.Bounce(2 * time.Second)
	e.waitResubscribed(run.fw, old, 20*time.Second)
	run.after("master bounce", "after-bounce-v1")
}
