package mesoslocal

import (
	"context"
	"os"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// Config.Isolation reaches the agents' containerizers: with it a task runs
// as a uid of its own as pid 1 of its namespace, without it as the
// cluster's user beside the cluster's processes.
func TestClusterIsolation(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skipf("isolation needs root (running as uid %d)", os.Geteuid())
	}
	const isolated = `[ "$(id -u)" -ne 0 ] && [ $$ -eq 1 ]`
	for _, tc := range []struct {
		isolation bool
		want      mesos.TaskState
	}{{true, mesos.TASK_FINISHED}, {false, mesos.TASK_FAILED}} {
		c, err := Start(context.Background(), Config{
			WorkDir:            t.TempDir(),
			AllocationInterval: 50 * time.Millisecond,
			Isolation:          tc.isolation,
		})
		if err != nil {
			t.Fatal(err)
		}
		f := subscribe(t, c, "application/x-protobuf", &mesos.FrameworkInfo{User: "root", Name: "iso"})
		offer := f.next(scheduler.Event_OFFERS).Offers.Offers[0]
		f.call(calls.Accept(calls.OfferOperations{calls.OpLaunch(commandTask("t", offer, isolated))}.WithOffers(offer.ID)))
		var st mesos.TaskStatus
		for i := 0; i < 4 && (i == 0 || !ended(st.GetState())); i++ {
			st = f.update()
		}
		if st.GetState() != tc.want {
			t.Errorf("isolation %v: task ended %s (%s), want %s", tc.isolation, st.GetState(), st.GetMessage(), tc.want)
		}
		_ = c.Close()
	}
}

func ended(s mesos.TaskState) bool {
	switch s {
	case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_LOST, mesos.TASK_ERROR:
		return true
	}
	return false
}
