package master

import (
	"fmt"
	"sync"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// Agent is what the master needs of one agent it manages. Every method is
// called from a per-agent goroutine in the order the master decided the
// actions, never while the master's mutex is held, so implementations may
// call back into the master.
type Agent interface {
	// Info returns the agent's id, hostname, port and total resources.
	Info() mesos.AgentInfo
	// LaunchTask starts a task asynchronously. Exactly one of task.Executor
	// and task.Command is set; task.Executor.FrameworkID is filled in.
	LaunchTask(fw mesos.FrameworkInfo, task mesos.TaskInfo)
	KillTask(fw mesos.FrameworkID, task mesos.TaskID, policy *mesos.KillPolicy)
	ShutdownExecutor(fw mesos.FrameworkID, exec mesos.ExecutorID)
	// ShutdownFramework is called when the framework is removed: the agent
	// shuts down all its executors and forgets its pending updates.
	ShutdownFramework(fw mesos.FrameworkID)
	// Acknowledge forwards a scheduler ACKNOWLEDGE of a status update.
	Acknowledge(fw mesos.FrameworkID, task mesos.TaskID, uuid []byte)
	SendFrameworkMessage(fw mesos.FrameworkID, exec mesos.ExecutorID, data []byte)
	// FrameworkReconnected tells the agent the framework (re-)subscribed:
	// it resends pending unacknowledged status updates now.
	FrameworkReconnected(fw mesos.FrameworkID)
}

// agentEntry is the master's record of one registered agent.
type agentEntry struct {
	id    string
	agent Agent
	info  mesos.AgentInfo
	total mesos.Resources // normalised (see normalize)
	queue *workQueue
	// recovering is set by Restart until the agent "re-registers"; while
	// set, its tasks are invisible and explicit reconciliation for it gets
	// no answer, as on a freshly elected Mesos master.
	recovering bool
}

// NewAgentID allocates the next agent id, <master-id>-S<n>.
func (m *Master) NewAgentID() mesos.AgentID {
	m.mu.Lock()
	defer m.mu.Unlock()
	id := fmt.Sprintf("%s-S%d", m.id, m.seq.agent)
	m.seq.agent++
	return mesos.AgentID{Value: id}
}

// AddAgent registers an agent; its resources are offered from the next
// allocation round. Adding an agent whose id is already registered replaces
// the old record (an agent re-registering); an agent that was partitioned
// brings its tasks back.
func (m *Master) AddAgent(a Agent) {
	info := a.Info()
	id := info.GetID().GetValue()
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.agents[id]; ok {
		old.queue.close()
	} else {
		m.agentOrder = append(m.agentOrder, id)
	}
	delete(m.unreachable, id)
	m.agents[id] = &agentEntry{
		id:    id,
		agent: a,
		info:  info,
		total: normalize(info.Resources),
		queue: newWorkQueue(),
	}
	m.log.Info("agent registered", "agent_id", id, "hostname", info.Hostname,
		"resources", m.agents[id].total.String())
	m.restorePartitioned(id)
	m.kickAllocator()
}

// agent returns a registered, non-recovering agent or nil.
func (m *Master) agent(id string) *agentEntry {
	a := m.agents[id]
	if a == nil || a.recovering {
		return nil
	}
	return a
}

// toAgent queues fn for the agent's goroutine.
func (a *agentEntry) do(fn func(Agent)) {
	ag := a.agent
	a.queue.push(func() { fn(ag) })
}

// workQueue runs functions one at a time, in order, on its own goroutine.
// push never blocks, which keeps the master mutex free of agent latency.
type workQueue struct {
	mu     sync.Mutex
	items  []func()
	wake   chan struct{}
	closed bool
	done   chan struct{}
}

func newWorkQueue() *workQueue {
	q := &workQueue{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go q.run()
	return q
}

func (q *workQueue) push(fn func()) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.items = append(q.items, fn)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// close stops the queue after the functions already pushed have run.
func (q *workQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	q.closed = true
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *workQueue) run() {
	defer close(q.done)
	for range q.wake {
		for {
			q.mu.Lock()
			items := q.items
			q.items = nil
			closed := q.closed
			q.mu.Unlock()
			for _, fn := range items {
				fn()
			}
			if len(items) == 0 {
				if closed {
					return
				}
				break
			}
		}
	}
}
