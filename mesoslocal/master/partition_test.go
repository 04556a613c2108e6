package master

import (
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// A partitioned agent that comes back brings its tasks with it: a
// PARTITION_AWARE framework hears the task runs again
// (REASON_AGENT_REREGISTERED, no uuid) and finds it in reconciliation and
// the task view again; another framework, told the task was lost, gets it
// killed.
// Conformance: 67, 84
func TestPartitionedAgentReregisters(t *testing.T) {
	for _, pa := range []bool{true, false} {
		name := "not partition aware"
		var caps []mesos.FrameworkInfo_Capability_Type
		if pa {
			name = "partition aware"
			caps = append(caps, mesos.FrameworkInfo_Capability_PARTITION_AWARE)
		}
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			a := h.addAgent("cpus:1;mem:64")
			s := h.subscribe(mediaJSON, frameworkInfo(caps...))
			o := s.offer()
			s.mustCall(calls.Accept(calls.OfferOperations{calls.OpLaunch(newTask("t1", a.info.ID.Value, "cpus:1"))}.
				WithOffers(o.ID)))
			a.waitCall(t, "launch")
			h.m.StatusUpdate(*a.info.ID, agentStatus("t1", mesos.TASK_RUNNING, 1))
			if st := s.update(); st.GetState() != mesos.TASK_RUNNING {
				t.Fatalf("update %v", st)
			}
			fw := mesos.FrameworkID{Value: o.FrameworkID.Value}

			if err := h.m.RemoveAgent(*a.info.ID, true); err != nil {
				t.Fatal(err)
			}
			s.update()
			if ts := h.m.Tasks(fw); len(ts) != 0 {
				t.Fatalf("tasks of a partitioned agent in the view: %v", ts)
			}

			h.m.AddAgent(a)
			if !pa {
				if c := a.waitCall(t, "kill"); c.taskID != "t1" {
					t.Fatalf("killed %q, want t1", c.taskID)
				}
				return
			}
			st := s.update()
			if st.GetState() != mesos.TASK_RUNNING || st.GetReason() != mesos.REASON_AGENT_REREGISTERED ||
				len(st.UUID) != 0 || st.GetSource() != mesos.SOURCE_MASTER {
				t.Fatalf("update after re-registration %v", st)
			}
			ts := h.m.Tasks(fw)
			if len(ts) != 1 || ts[0].ID != "t1" || ts[0].State != mesos.TASK_RUNNING || ts[0].Agent != a.info.ID.Value {
				t.Fatalf("task view %+v", ts)
			}
			s.mustCall(calls.Reconcile())
			if st := s.update(); st.TaskID.Value != "t1" || st.GetState() != mesos.TASK_RUNNING {
				t.Fatalf("implicit reconciliation %v", st)
			}
			s.none(scheduler.Event_UPDATE, 200*time.Millisecond)
		})
	}
}
