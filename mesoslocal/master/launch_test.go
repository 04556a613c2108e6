package master

import (
	"strings"
	"testing"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

func customExecutor(id string) *mesos.ExecutorInfo {
	cmd := "./executor"
	return &mesos.ExecutorInfo{
		ExecutorID: mesos.ExecutorID{Value: id},
		Command:    &mesos.CommandInfo{Value: &cmd},
		Resources:  mustResources(nil, "cpus:0.5;mem:32"),
	}
}

// Conformance: 49, 50, 51, 52, 54, 55, 56, 57, 58, 59, 60, 61, 63, 65
func TestLaunchValidation(t *testing.T) {
	type mutate func(t *mesos.TaskInfo, agent string)
	tests := []struct {
		name  string
		op    func(op *mesos.Offer_Operation)
		task  mutate
		valid bool
	}{
		{name: "valid command task", task: func(*mesos.TaskInfo, string) {}, valid: true},
		{name: "valid executor task", task: func(ti *mesos.TaskInfo, _ string) {
			ti.Command, ti.Executor = nil, customExecutor("e1")
		}, valid: true},
		{name: "both command and executor", task: func(ti *mesos.TaskInfo, _ string) { ti.Executor = customExecutor("e1") }},
		{name: "neither command nor executor", task: func(ti *mesos.TaskInfo, _ string) { ti.Command = nil }},
		{name: "no resources", task: func(ti *mesos.TaskInfo, _ string) { ti.Resources = nil }},
		{name: "too many cpus", task: func(ti *mesos.TaskInfo, _ string) { ti.Resources = mustResources(nil, "cpus:5") }},
		{name: "executor pushes over", task: func(ti *mesos.TaskInfo, _ string) {
			ti.Command, ti.Executor = nil, customExecutor("e1")
			ti.Resources = mustResources(nil, "cpus:3.8")
		}},
		{name: "port outside offer", task: func(ti *mesos.TaskInfo, _ string) {
			ti.Resources = append(ti.Resources, portRange(40000, 40000))
		}},
		{name: "port inside offer", task: func(ti *mesos.TaskInfo, _ string) {
			ti.Resources = append(ti.Resources, portRange(31005, 31006))
		}, valid: true},
		{name: "empty task id", task: func(ti *mesos.TaskInfo, _ string) { ti.TaskID.Value = "" }},
		{name: "dot dot task id", task: func(ti *mesos.TaskInfo, _ string) { ti.TaskID.Value = ".." }},
		{name: "slash in task id", task: func(ti *mesos.TaskInfo, _ string) { ti.TaskID.Value = "a/b" }},
		{name: "control char in task id", task: func(ti *mesos.TaskInfo, _ string) { ti.TaskID.Value = "a\x01" }},
		{name: "long task id", task: func(ti *mesos.TaskInfo, _ string) { ti.TaskID.Value = strings.Repeat("x", 256) }},
		{name: "other agent", task: func(ti *mesos.TaskInfo, _ string) { ti.AgentID.Value = "elsewhere" }},
		{name: "custom executor without command", task: func(ti *mesos.TaskInfo, _ string) {
			ti.Command, ti.Executor = nil, customExecutor("e1")
			ti.Executor.Command = nil
		}},
		{name: "default executor in LAUNCH", task: func(ti *mesos.TaskInfo, _ string) {
			ti.Command, ti.Executor = nil, customExecutor("e1")
			ti.Executor.Type = mesos.ExecutorInfo_DEFAULT
		}},
		{name: "foreign executor framework id", task: func(ti *mesos.TaskInfo, _ string) {
			ti.Command, ti.Executor = nil, customExecutor("e1")
			ti.Executor.FrameworkID = &mesos.FrameworkID{Value: "other"}
		}},
		{name: "health check without type", task: func(ti *mesos.TaskInfo, _ string) {
			ti.HealthCheck = &mesos.HealthCheck{}
		}},
		{name: "health check type inferred", task: func(ti *mesos.TaskInfo, _ string) {
			ti.HealthCheck = &mesos.HealthCheck{HTTP: &mesos.HealthCheck_HTTPCheckInfo{Port: 80, Path: ptr("/ok")}}
		}, valid: true},
		{name: "health check bad path", task: func(ti *mesos.TaskInfo, _ string) {
			ti.HealthCheck = &mesos.HealthCheck{Type: mesos.HealthCheck_HTTP,
				HTTP: &mesos.HealthCheck_HTTPCheckInfo{Port: 80, Path: ptr("ok")}}
		}},
		{name: "health check negative interval", task: func(ti *mesos.TaskInfo, _ string) {
			ti.HealthCheck = &mesos.HealthCheck{Type: mesos.HealthCheck_TCP,
				TCP: &mesos.HealthCheck_TCPCheckInfo{Port: 80}, IntervalSeconds: ptr(-1.0)}
		}},
		{name: "docker without docker info", task: func(ti *mesos.TaskInfo, _ string) {
			ti.Container = &mesos.ContainerInfo{Type: mesos.ContainerInfo_DOCKER.Enum()}
		}},
		{name: "docker name parameter", task: func(ti *mesos.TaskInfo, _ string) {
			ti.Container = &mesos.ContainerInfo{Type: mesos.ContainerInfo_DOCKER.Enum(),
				Docker: &mesos.ContainerInfo_DockerInfo{Image: "alpine", Parameters: []mesos.Parameter{{Key: "name", Value: "x"}}}}
		}},
		{name: "negative kill grace period", task: func(ti *mesos.TaskInfo, _ string) {
			ti.KillPolicy = &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: -1}}
		}},
		{name: "operation id set", op: func(op *mesos.Offer_Operation) {
			op.ID = &mesos.OperationID{Value: "op1"}
		}, task: func(*mesos.TaskInfo, string) {}},
	}
	for _, mt := range codecsUnderTest {
		for _, tc := range tests {
			t.Run(mt+"/"+tc.name, func(t *testing.T) {
				h := newHarness(t)
				a := h.addAgent(agentRes)
				s := h.subscribe(mt, frameworkInfo())
				o := s.offer()
				ti := newTask("t1", a.info.ID.Value, "cpus:1;mem:64")
				tc.task(&ti, a.info.ID.Value)
				op := calls.OpLaunch(ti)
				if tc.op != nil {
					tc.op(&op)
				}
				s.mustCall(calls.Accept(calls.OfferOperations{op}.WithOffers(o.ID)))
				if !tc.valid {
					st := s.update()
					if st.GetState() != mesos.TASK_ERROR || st.GetReason() != mesos.REASON_TASK_INVALID ||
						st.GetSource() != mesos.SOURCE_MASTER || len(st.UUID) != 0 {
						t.Fatalf("update %v", st)
					}
					if a.hasCall("launch") {
						t.Fatal("invalid task reached the agent")
					}
					return
				}
				c := a.waitCall(t, "launch")
				if c.fw != s.id || c.taskID != ti.TaskID.Value {
					t.Fatalf("launch %+v", c)
				}
				if e := c.task.Executor; e != nil && e.GetFrameworkID().GetValue() != s.id {
					t.Fatalf("executor framework id not filled: %v", e.FrameworkID)
				}
				// Recorded as TASK_STAGING: implicit reconciliation reports it.
				s.mustCall(calls.Reconcile())
				st := s.update()
				if st.GetState() != mesos.TASK_STAGING || st.GetReason() != mesos.REASON_RECONCILIATION {
					t.Fatalf("reconciled %v", st)
				}
			})
		}
	}
}

// Conformance: 47, 51, 53, 54, 58
func TestLaunchSequenceInOneAccept(t *testing.T) {
	h := newHarness(t)
	a := h.addAgent(agentRes)
	s := h.subscribe(mediaProtobuf, frameworkInfo())
	o := s.offer()
	agent := a.info.ID.Value
	withExec := func(id, res string, e *mesos.ExecutorInfo) mesos.TaskInfo {
		ti := newTask(id, agent, res)
		ti.Command, ti.Executor = nil, e
		return ti
	}
	changed := customExecutor("e1")
	changed.Name = ptr("different")
	tasks := []mesos.TaskInfo{
		withExec("a", "cpus:1;mem:64", customExecutor("e1")),   // 1.5 cpus with its executor
		newTask("b", agent, "cpus:2;mem:64"),                   // 3.5
		newTask("c", agent, "cpus:1;mem:64"),                   // too much: error
		withExec("d", "cpus:0.5;mem:64", customExecutor("e1")), // executor running: 4.0
		newTask("a", agent, "cpus:0.001"),                      // duplicate id
		withExec("f", "cpus:0.001", changed),                   // same executor id, other info
	}
	s.mustCall(calls.Accept(calls.OfferOperations{calls.OpLaunch(tasks...)}.WithOffers(o.ID)))
	want := map[string]bool{"c": true, "a": true, "f": true} // expected TASK_ERROR ids
	for i := 0; i < 3; i++ {
		st := s.update()
		if st.GetState() != mesos.TASK_ERROR || !want[st.TaskID.Value] {
			t.Fatalf("update %v", st)
		}
		delete(want, st.TaskID.Value)
	}
	for _, id := range []string{"a", "b", "d"} {
		if c := a.waitCall(t, "launch"); c.taskID != id {
			t.Fatalf("launched %s, want %s", c.taskID, id)
		}
	}
	// The next offer (after the tasks end) names the running executor.
	h.m.StatusUpdate(*a.info.ID, mesos.TaskStatus{TaskID: mesos.TaskID{Value: "b"}, State: mesos.TASK_FINISHED.Enum()})
	s.mustCall(calls.Revive())
	o = s.offer()
	if len(o.ExecutorIDs) != 1 || o.ExecutorIDs[0].Value != "e1" {
		t.Fatalf("executor ids %v", o.ExecutorIDs)
	}
	if got := cpus(o.Resources); got != 2 {
		t.Fatalf("offered %v cpus after b finished, want 2", got)
	}
}

// Conformance: 64
func TestLaunchGroupIsRefused(t *testing.T) {
	h := newHarness(t)
	a := h.addAgent(agentRes)
	s := h.subscribe(mediaJSON, frameworkInfo())
	o := s.offer()
	e := customExecutor("g")
	e.Type = mesos.ExecutorInfo_DEFAULT
	e.Command = nil
	t1, t2 := newTask("g1", a.info.ID.Value, "cpus:1"), newTask("g2", a.info.ID.Value, "cpus:1")
	s.mustCall(calls.Accept(calls.OfferOperations{calls.OpLaunchGroup(*e, t1, t2)}.WithOffers(o.ID)))
	for i := 0; i < 2; i++ {
		if st := s.update(); st.GetState() != mesos.TASK_ERROR || st.GetReason() != mesos.REASON_TASK_GROUP_INVALID {
			t.Fatalf("update %v", st)
		}
	}
	s.none(scheduler.Event_UPDATE, 0)
}
