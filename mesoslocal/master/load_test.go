package master

import (
	"fmt"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/resources"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// checkLoads verifies the per-agent index against the master's maps: the
// same tasks, executors and offers, and a cached sum equal to one made
// from scratch over the whole cluster, as the allocator once made it.
// Every harness runs it when its test ends.
func (m *Master) checkLoads() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	scratch := map[string]mesos.Resources{}
	tasks, execs, offers := 0, 0, 0
	for key, t := range m.tasks {
		if m.load(t.agent).tasks[key.task][key.framework] != t {
			return fmt.Errorf("task %v on %s is not indexed", key, t.agent)
		}
		if !t.released {
			r := scratch[t.agent]
			scratch[t.agent] = r.Plus(t.resources...)
		}
	}
	for key, e := range m.executors {
		if m.load(key.agent).executors[key] != e {
			return fmt.Errorf("executor %v is not indexed", key)
		}
		r := scratch[key.agent]
		scratch[key.agent] = r.Plus(e.resources...)
	}
	for id, o := range m.offers {
		if m.load(o.agent).offers[id] != o {
			return fmt.Errorf("offer %s is not indexed", id)
		}
		r := scratch[o.agent]
		scratch[o.agent] = r.Plus(o.resources...)
	}
	for agent, l := range m.loads {
		for _, byFw := range l.tasks {
			tasks += len(byFw)
		}
		execs += len(l.executors)
		offers += len(l.offers)
		if used := m.used(agent); !resources.Equivalent(used, scratch[agent]) {
			return fmt.Errorf("agent %s: cached use %s, from scratch %s", agent, used, scratch[agent])
		}
	}
	if tasks != len(m.tasks) || execs != len(m.executors) || offers != len(m.offers) {
		return fmt.Errorf("index holds %d tasks, %d executors, %d offers; master %d, %d, %d",
			tasks, execs, offers, len(m.tasks), len(m.executors), len(m.offers))
	}
	return nil
}

// The index follows a launch, its updates, the acknowledgement that lets
// the master forget the task, and a declined offer.
func TestLoadFollowsTaskLifecycle(t *testing.T) {
	h := newHarness(t)
	a := h.addAgent("cpus:4;mem:4096;ports:[31000-31009]")
	s := h.subscribe("application/json", frameworkInfo())
	defer s.close()
	o := s.offer()
	check := func(when string) {
		t.Helper()
		if err := h.m.checkLoads(); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
	}
	check("offered")
	task := newTask("t1", a.info.ID.Value, "cpus:1;mem:128")
	s.mustCall(calls.Accept(calls.OfferOperations{calls.OpLaunch(task)}.WithOffers(o.ID)))
	a.waitCall(t, "launch")
	check("launched")
	for i, st := range []mesos.TaskState{mesos.TASK_RUNNING, mesos.TASK_FINISHED} {
		uuid := []byte(fmt.Sprintf("uuid-%011d", i))
		h.m.StatusUpdate(*a.info.ID, mesos.TaskStatus{TaskID: task.TaskID, State: st.Enum(), UUID: uuid})
		check(st.String())
	}
	up := s.update()
	for up.GetState() != mesos.TASK_FINISHED {
		up = s.update()
	}
	s.mustCall(calls.Acknowledge(a.info.ID.Value, "t1", up.UUID))
	waitFor(t, func() bool {
		h.m.mu.Lock()
		defer h.m.mu.Unlock()
		return len(h.m.tasks) == 0
	})
	check("acknowledged")
}
