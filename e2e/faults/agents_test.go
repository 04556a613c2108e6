package faults

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/fob-project/fob/state"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// routedTo returns the task GET /api/meta/{id} names, "" when the function
// has no instance to route to.
func (e *env) routedTo(fnID string) string {
	e.t.Helper()
	code, body := e.do("GET", "/api/meta/"+fnID, "")
	if code != 200 {
		return ""
	}
	var m struct {
		TaskID string `json:"task_id"`
	}
	must(e.t, json.Unmarshal(body, &m))
	return m.TaskID
}

// waitTaskLeft waits until fob records task taskID in state s and checks at
// once that no call is routed to it any more.
func (e *env) waitTaskLeft(fnID, taskID string, s state.TaskState) {
	e.t.Helper()
	e.eventually(20*time.Second, "fob sees task "+taskID+" "+string(s), func() error {
		t, err := e.store().Task(nil, taskID)
		if err != nil {
			return err
		}
		if t.State != s {
			return fmt.Errorf("task is %s", t.State)
		}
		return nil
	})
	// The route index follows the store through a watch, asynchronously,
	// but within moments; a route to the lost task after that is a bug.
	e.eventually(2*time.Second, "calls stop going to "+taskID, func() error {
		if got := e.routedTo(fnID); got == taskID {
			return errors.New("still routed there")
		}
		return nil
	})
	for i := 0; i < 20; i++ {
		if got := e.routedTo(fnID); got == taskID {
			e.t.Fatalf("call routed to task %s after fob saw it %s", taskID, s)
		}
	}
}

// anyFunction returns one of want's functions.
func anyFunction(want map[string]string) string {
	for id := range want {
		return id
	}
	panic("no function")
}

// noTaskOn checks that none of want's live tasks runs on agentID.
func (e *env) noTaskOn(want map[string]string, agentID, which string) {
	e.t.Helper()
	for id := range want {
		for _, tk := range e.liveTasks(id) {
			if tk.AgentID == agentID {
				e.t.Errorf("task %s runs on %s", tk.ID, which)
			}
		}
	}
}

// TestAgentLost removes the agent running fob's instances for good (its
// tasks become GONE_BY_OPERATOR and the agent stops). fob must stop
// routing to them at once and relaunch them on the other agent.
// Conformance: 67.
func TestAgentLost(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	want := e.startWith(2)
	fn := anyFunction(want)
	lostTask := e.runningTask(fn)
	e.loseAgent(lostTask.AgentID)
	e.waitTaskLeft(fn, lostTask.ID, state.TaskGone)
	e.settle(want)
	e.noTaskOn(want, lostTask.AgentID, "the lost agent")
}

// TestAgentPartitioned cuts the agent running fob's instances off the
// master while it keeps running them: fob gets TASK_UNREACHABLE
// (PARTITION_AWARE), stops routing there at once and starts replacements
// on the other agent; calls wait for them rather than fail. When the
// partition heals the master reports the old tasks running again and fob
// kills the surplus copies.
// Conformance: 67.
func TestAgentPartitioned(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	want := e.startWith(2)
	fw := e.frameworkID()
	fn := anyFunction(want)
	cut := e.runningTask(fn)
	partitioned := e.agent(cut.AgentID)
	calls := e.streamCalls(want)

	e.mu.Lock()
	e.lost[cut.AgentID] = true // its executors run on, unseen by the master
	e.mu.Unlock()
	must(t, e.cluster.Master.RemoveAgent(mesos.AgentID{Value: cut.AgentID}, true))
	e.waitTaskLeft(fn, cut.ID, state.TaskUnreachable)
	e.settle(want)
	e.noTaskOn(want, cut.AgentID, "the partitioned agent")

	// The partition heals.
	e.cluster.Master.AddAgent(partitioned)
	e.mu.Lock()
	delete(e.lost, cut.AgentID)
	e.mu.Unlock()
	e.eventually(20*time.Second, "fob hears the old task runs again", func() error {
		tk, err := e.store().Task(nil, cut.ID)
		if err != nil {
			return err
		}
		if tk.State == state.TaskUnreachable {
			return errors.New("still unreachable")
		}
		return nil
	})
	e.settle(want)
	calls.finish(t)
	if n := len(e.cluster.Master.Tasks(fw)); n < len(want) {
		t.Errorf("the master tracks %d tasks for %d functions", n, len(want))
	}
}

// TestExecutorKilled kills the executor process of an instance three
// times in a row. Each time the agent reports TASK_FAILED
// (REASON_EXECUTOR_TERMINATED) and fob relaunches with a growing backoff;
// after the third failure the function shows as crash-looping, with the
// last error, until the relaunch runs.
// Conformance: 82, 118.
func TestExecutorKilled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	want := e.startWith(2)
	fw := e.frameworkID()
	fn := anyFunction(want)
	var last *state.Task
	for i := 0; i < 3; i++ {
		tk := e.runningTask(fn)
		if last != nil && tk.ID == last.ID {
			t.Fatalf("task %s still runs after its executor was killed", tk.ID)
		}
		last = tk
		must(t, e.agent(tk.AgentID).KillExecutor(fw, mesos.ExecutorID{Value: tk.ExecutorID}))
		e.waitTaskLeft(fn, tk.ID, state.TaskFailed)
	}
	e.eventually(10*time.Second, "the function shows as crash-looping", func() error {
		v := e.describe(fn)
		if v.State != string(state.PhaseCrashLooping) || v.LastError == "" {
			return fmt.Errorf("state %q, last error %q", v.State, v.LastError)
		}
		return nil
	})
	e.settle(want)
}

// TestOfferRescinded withdraws every offer fob gets for a while, so some
// of its ACCEPTs name offers that no longer exist and the master drops
// those launches (TASK_DROPPED, REASON_INVALID_OFFERS). fob must launch
// again and end with each function running once; once idle it holds no
// offer and gets none (declined with a filter, then SUPPRESS).
// Conformance: 42, 45, 48.
func TestOfferRescinded(t *testing.T) {
	t.Parallel()
	e := newEnv(t, options{})
	want := e.startWith(1)
	fw := e.frameworkID()
	stop := make(chan struct{})
	rescinded := make(chan int)
	go func() {
		n := 0
		defer func() { rescinded <- n }()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, o := range e.cluster.Master.Offers(fw) {
				if e.cluster.Master.RescindOffer(o) == nil {
					n++
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	for i := 0; i < 3; i++ {
		r := fmt.Sprintf("rescinded-%d-v1", i)
		want[e.register(r)] = r
	}
	time.Sleep(2 * time.Second) // let several offers be withdrawn
	close(stop)
	if n := <-rescinded; n == 0 {
		t.Error("no offer was rescinded")
	}
	e.settle(want)
	// A dropped launch is no failure of the function. (The status follows
	// the task's state within one step of the scheduler, so it is polled.)
	for id := range want {
		e.eventually(5*time.Second, "function "+id+" shows running without error", func() error {
			if v := e.describe(id); v.State != string(state.PhaseRunning) || v.LastError != "" {
				return fmt.Errorf("state %q, last error %q", v.State, v.LastError)
			}
			return nil
		})
	}
	// Idle now: fob must neither hold offers nor be sent new ones.
	time.Sleep(10 * allocation)
	if offers := e.cluster.Master.Offers(fw); len(offers) > 0 {
		t.Errorf("idle fob holds %d offers", len(offers))
	}
}

// functionView is what GET /api/functions/{id} shows, as far as the tests
// look at it.
type functionView struct {
	Version   uint64 `json:"version"`
	State     string `json:"state"`
	LastError string `json:"last_error"`
	Instances []struct {
		TaskID  string `json:"task_id"`
		Version uint64 `json:"version"`
		State   string `json:"state"`
	} `json:"instances"`
}

func (e *env) describe(id string) functionView {
	e.t.Helper()
	code, body := e.do("GET", "/api/functions/"+id, "")
	var v functionView
	if code != 200 || json.Unmarshal(body, &v) != nil {
		e.t.Fatalf("describe %s: %d %s", id, code, body)
	}
	return v
}
