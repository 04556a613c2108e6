package faults

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fob-project/fob/api"
	"github.com/fob-project/fob/scheduler"
	"github.com/fob-project/fob/state"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// TestFrameworkRestart stops the framework process cleanly and starts it
// again on the same data directory while the master answers 503. Calls
// must work at once (the call path never needs the master); once the
// master is back fob re-subscribes with its id and re-adopts the running
// tasks without relaunching any: the task ids are unchanged.
// Conformance: 85, 90, 95, 97.
func TestFrameworkRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	want := e.startWith(2)
	fw := e.frameworkID()
	before := e.taskIDs()

	e.stopServer()
	// fob is away; Mesos keeps its tasks within the failover timeout.
	e.eventually(10*time.Second, "the master sees fob gone", func() error {
		if v := e.cluster.Master.Framework(fw); v.Connected || v.Removed {
			return fmt.Errorf("framework %+v", v)
		}
		return nil
	})
	running := 0
	for _, mt := range e.cluster.Master.Tasks(fw) {
		if mt.State == mesos.TASK_RUNNING {
			running++
		}
	}
	if running != len(before) {
		t.Fatalf("%d tasks run while fob is away, want %d", running, len(before))
	}

	e.cluster.Master.SetUnavailable(true)
	e.startServer()
	for id, r := range want {
		if err := e.call(id, r); err != nil {
			t.Errorf("first call after the restart, master unavailable: %v", err)
		}
	}
	if e.cluster.Master.Framework(fw).Connected {
		t.Error("fob subscribed to a master answering 503")
	}
	e.cluster.Master.SetUnavailable(false)
	e.waitResubscribed(fw, "", 20*time.Second)
	e.settle(want)
	if after := e.taskIDs(); !slices.Equal(after, before) {
		t.Errorf("tasks changed across the restart:\nbefore %v\nafter  %v", before, after)
	}
}

// TestUnknownTaskKilled makes fob forget a task it launched (its record is
// deleted from the data file while fob is stopped). After the restart the
// implicit reconciliation reports a task fob does not know: fob kills it
// and runs the function's instance it does know it needs.
// Conformance: 84, 91.
func TestUnknownTaskKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	want := e.startWith(1)
	var fn string
	for id := range want {
		fn = id
	}
	orphan := e.runningTask(fn)
	e.stopServer()
	store, err := state.Open(filepath.Join(e.dataDir, "fob.db"))
	must(t, err)
	must(t, store.DeleteTask(orphan.ID))
	must(t, store.Close())

	e.startServer()
	e.settle(want)
	for _, tk := range e.liveTasks(fn) {
		if tk.ID == orphan.ID {
			t.Errorf("the forgotten task %s runs on", orphan.ID)
		}
	}
}

// TestFrameworkFailover runs a second scheduler instance over the same
// store, as a standby that takes over does: it subscribes with the stored
// framework id, the master fails the first instance's stream over, and
// the first instance stops with ErrFailedOver. The second adopts every
// running task (none is relaunched) and launches what is registered next.
// Conformance: 92, 95, 97, 98.
func TestFrameworkFailover(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	store, err := state.Open(filepath.Join(e.dataDir, "fob.db"))
	must(t, err)
	t.Cleanup(func() { store.Close() })
	a := api.New(e.cfg.API, store, e.log.With("component", "api"))
	httpSrv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	ln := listenRetry(t, e.apiAddr)
	go httpSrv.Serve(ln)
	t.Cleanup(func() { httpSrv.Close() })
	apiCtx, stopAPI := context.WithCancel(t.Context())
	t.Cleanup(stopAPI)
	go a.Run(apiCtx)
	e.mu.Lock()
	e.st = store
	e.mu.Unlock()

	cfg := e.cfg.Scheduler
	cfg.APIURL = e.url("")
	run := func(name string) (context.CancelFunc, chan error) {
		s, err := scheduler.New(cfg, store, e.log.With("component", "scheduler", "instance", name))
		must(t, err)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-done })
		return cancel, done
	}
	_, firstDone := run("first")
	want := map[string]string{}
	for i := 0; i < 2; i++ {
		r := fmt.Sprintf("fo-%d-v1", i)
		want[e.register(r)] = r
	}
	e.settle(want)
	survive := e.watch(want)
	fw := survive.fw
	old := e.stream(fw)

	run("second")
	select {
	case err := <-firstDone:
		if !errors.Is(err, scheduler.ErrFailedOver) {
			t.Fatalf("first instance ended with %v, want ErrFailedOver", err)
		}
		firstDone <- err // for the cleanup
	case <-time.After(20 * time.Second):
		t.Fatal("the first instance still runs after the failover")
	}
	e.waitResubscribed(fw, old, 10*time.Second)
	survive.after("failover", "after-failover-v1")
	if id, _ := store.FrameworkID(); id != fw.Value {
		t.Errorf("framework id changed from %s to %s", fw.Value, id)
	}
}

// TestFailoverTimeoutExpiry stops fob for longer than its failover_timeout.
// The master must remove the framework and have its executors shut down
// and its tasks killed. Started again, fob finds its id refused
// ("Framework has been removed"), registers as a new framework, learns
// through reconciliation that its old tasks are gone, and launches every
// function again.
// Conformance: 16, 86, 94, 96.
func TestFailoverTimeoutExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{failover: 2 * time.Second})
	want := e.startWith(2)
	fw := e.frameworkID()
	e.stopServer()
	e.eventually(20*time.Second, "the master removes fob after its failover timeout", func() error {
		if v := e.cluster.Master.Framework(fw); !v.Removed {
			return fmt.Errorf("framework %+v", v)
		}
		return nil
	})
	e.eventually(20*time.Second, "the old tasks and executors are gone", func() error {
		if ts := e.cluster.Master.Tasks(fw); len(ts) > 0 {
			return fmt.Errorf("master still has %d tasks", len(ts))
		}
		for _, a := range e.cluster.Agents() {
			if ex := a.Executors(fw); len(ex) > 0 {
				return fmt.Errorf("agent %s still runs %v", agentID(a), ex)
			}
		}
		return nil
	})

	e.startServer()
	e.settle(want)
	if now := e.frameworkID(); now == fw {
		t.Errorf("fob still uses the removed framework id %s", fw.Value)
	}
}
