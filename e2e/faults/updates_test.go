package faults

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/fob-project/fob/mesoslocal/master"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// TestStatusUpdatesDelayedDuplicatedReordered makes the master mishandle
// every agent update on its way to fob: the first copy of each STARTING is
// held back until well after the task runs (so it arrives late, after
// RUNNING: reordered), the first RUNNING is lost (the agent resends it),
// and every later copy, RUNNING and terminal ones included, arrives three
// times. fob must record each task's real state once, acknowledge
// after persisting, never roll a task back to an older state, and launch
// nothing twice; a function deleted under the same faults goes away.
// Conformance: 68, 69, 70, 71, 75.
func TestStatusUpdatesDelayedDuplicatedReordered(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	e.startServer()
	fw := e.frameworkID()

	var mu sync.Mutex
	seen := map[string]int{} // task/state → deliveries so far
	var late sync.WaitGroup
	e.cluster.Master.SetUpdateFault(func(st mesos.TaskStatus) master.UpdateFault {
		mu.Lock()
		defer mu.Unlock()
		key := st.TaskID.Value + "/" + st.GetState().String()
		seen[key]++
		n := seen[key]
		switch {
		case st.GetState() == mesos.TASK_STARTING && n == 1:
			late.Add(1)
			time.AfterFunc(3*time.Second, late.Done)
			return master.UpdateFault{Delay: 2 * time.Second}
		case st.GetState() == mesos.TASK_RUNNING && n == 1:
			return master.UpdateFault{Drop: true}
		default:
			return master.UpdateFault{Duplicate: 2}
		}
	})
	want := map[string]string{}
	for i := 0; i < 3; i++ {
		r := fmt.Sprintf("dup-%d-v1", i)
		want[e.register(r)] = r
	}
	e.settle(want)
	// Let the late STARTING copies arrive, then check nothing moved back.
	late.Wait()
	e.settle(want)
	mu.Lock()
	for key, n := range seen {
		t.Logf("%s delivered %d times", key, n)
	}
	mu.Unlock()

	var doomed string
	for id := range want {
		doomed = id
	}
	delete(want, doomed)
	if code, body := e.do("DELETE", "/api/functions/"+doomed, ""); code != 200 {
		t.Fatalf("delete: %d %s", code, body)
	}
	e.settle(want, doomed)
	for _, mt := range e.cluster.Master.Tasks(fw) {
		if !mt.Terminal() && mt.State != mesos.TASK_RUNNING {
			t.Errorf("master task %s is %s", mt.ID, mt.State)
		}
	}
}
