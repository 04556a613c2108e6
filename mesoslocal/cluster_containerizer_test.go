package mesoslocal

import (
	"context"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// With the simulated containerizer nothing runs: a command that would fail
// at once stays RUNNING until it is killed.
func TestClusterSimulatedContainerizer(t *testing.T) {
	c, err := Start(context.Background(), Config{
		WorkDir:            t.TempDir(),
		AllocationInterval: 50 * time.Millisecond,
		Containerizer:      "simulated",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	f := subscribe(t, c, "application/x-protobuf", &mesos.FrameworkInfo{User: "nobody", Name: "sim"})
	offer := f.next(scheduler.Event_OFFERS).Offers.Offers[0]
	f.call(calls.Accept(calls.OfferOperations{calls.OpLaunch(commandTask("t", offer, "exit 1"))}.WithOffers(offer.ID)))
	var states []mesos.TaskState
	for last(states) != mesos.TASK_KILLED {
		st := f.update()
		states = append(states, st.GetState())
		if st.GetState() == mesos.TASK_RUNNING {
			f.call(calls.Kill("t", offer.AgentID.Value))
		}
		if len(states) > 4 {
			break
		}
	}
	want := []mesos.TaskState{mesos.TASK_STARTING, mesos.TASK_RUNNING, mesos.TASK_KILLED}
	if len(states) != len(want) || states[0] != want[0] || states[1] != want[1] || states[2] != want[2] {
		t.Errorf("states %v, want %v", states, want)
	}
}

func TestClusterUnknownContainerizer(t *testing.T) {
	_, err := Start(context.Background(), Config{Containerizer: "lxc"})
	if err == nil || !strings.Contains(err.Error(), `unknown containerizer "lxc"`) {
		t.Fatalf("error %v", err)
	}
}
