package master

import (
	"fmt"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// faults holds the state of the test hooks. Guarded by m.mu.
type faults struct {
	redirect    string // host:port for 307 answers, "" when off
	unavailable bool   // answer 503
	updates     func(mesos.TaskStatus) UpdateFault
	// partitioned keeps what RemoveAgent(…, true) took away from each
	// unreachable agent until AddAgent brings it back (partition.go).
	partitioned map[string]*partitionedAgent
	// answers, when set, is the gate every non-SUBSCRIBE answer waits at
	// (HoldAnswers).
	answers *answerGate
}

// UpdateFault says what happens to one agent status update on its way to
// the scheduler. The zero value delivers it normally.
type UpdateFault struct {
	Drop      bool          // never deliver (the agent will retry)
	Delay     time.Duration // deliver later; delaying one update reorders it
	Duplicate int           // extra copies delivered after the first
}

func (m *Master) faultAnswer() (redirect string, unavailable bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.faults.redirect, m.faults.unavailable
}

// SetRedirect is a test hook: while hostPort is not empty every scheduler
// request is answered 307 with Location //hostPort/api/v1/scheduler, as a
// non-leading Mesos master does.
func (m *Master) SetRedirect(hostPort string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults.redirect = hostPort
}

// SetUnavailable is a test hook: while on, every scheduler request is
// answered 503 (no leader elected / master recovering).
func (m *Master) SetUnavailable(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults.unavailable = on
}

// SetUpdateFault is a test hook: f decides the fate of every agent status
// update forwarded to a scheduler from now on; nil restores normal delivery.
func (m *Master) SetUpdateFault(f func(mesos.TaskStatus) UpdateFault) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults.updates = f
}

// deliverUpdate sends an agent status update to a connected framework,
// applying the update fault hook. Must hold m.mu.
func (m *Master) deliverUpdate(fw *framework, st mesos.TaskStatus) {
	var f UpdateFault
	if m.faults.updates != nil {
		f = m.faults.updates(st)
	}
	if f.Drop {
		return
	}
	copies := 1 + f.Duplicate
	if f.Delay <= 0 {
		for i := 0; i < copies; i++ {
			fw.send(updateEvent(st))
		}
		return
	}
	s := fw.stream
	time.AfterFunc(f.Delay, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if fw.stream == s { // only on the same subscription
			for i := 0; i < copies; i++ {
				fw.send(updateEvent(st))
			}
		}
	})
}

// answerGate holds answers until release closes open.
type answerGate struct {
	open chan struct{}
	held chan scheduler.Call_Type
}

// HoldAnswers is a test hook, a slow network on the way back: from now on
// the master handles every non-SUBSCRIBE call at once, as usual, but the
// HTTP answer waits until release is called. held receives the type of
// each call whose answer is being held (it is buffered; types beyond its
// room are not reported). release lets every held answer go and ends the
// hold; calling it twice is harmless.
func (m *Master) HoldAnswers() (held <-chan scheduler.Call_Type, release func()) {
	g := &answerGate{open: make(chan struct{}), held: make(chan scheduler.Call_Type, 64)}
	m.mu.Lock()
	m.faults.answers = g
	m.mu.Unlock()
	var once sync.Once
	return g.held, func() {
		once.Do(func() {
			m.mu.Lock()
			if m.faults.answers == g {
				m.faults.answers = nil
			}
			m.mu.Unlock()
			close(g.open)
		})
	}
}

// holdAnswer waits at the answer gate, if one is set, before a call of
// type t is answered.
func (m *Master) holdAnswer(t scheduler.Call_Type) {
	m.mu.Lock()
	g := m.faults.answers
	m.mu.Unlock()
	if g == nil {
		return
	}
	select {
	case g.held <- t:
	default:
	}
	<-g.open
}

// DropStream is a test hook: it breaks the framework's subscription
// connection as a network failure would. The master then treats the
// framework as disconnected (failover timer starts).
func (m *Master) DropStream(fw mesos.FrameworkID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.frameworks[fw.Value]
	if f == nil || f.stream == nil {
		return fmt.Errorf("drop stream: framework %s is not subscribed", fw.Value)
	}
	f.stream.abort()
	return nil
}

// FreezeStream is a test hook: the framework's stream stays open but no
// further byte is written (events, heartbeats are discarded), so only a
// scheduler-side heartbeat watchdog can notice. The master still believes
// the framework is connected.
func (m *Master) FreezeStream(fw mesos.FrameworkID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.frameworks[fw.Value]
	if f == nil || f.stream == nil {
		return fmt.Errorf("freeze stream: framework %s is not subscribed", fw.Value)
	}
	f.stream.frozen.Store(true)
	return nil
}

// RescindOffer is a test hook: it withdraws an outstanding offer with a
// RESCIND event; its resources return to the pool without a filter.
func (m *Master) RescindOffer(id mesos.OfferID) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	o := m.offers[id.Value]
	if o == nil {
		return fmt.Errorf("rescind offer: %s is not outstanding", id.Value)
	}
	m.dropOffer(id.Value)
	if fw := m.frameworks[o.framework]; fw != nil {
		fw.send(rescindEvent(id.Value))
	}
	m.kickAllocator()
	return nil
}

// Offers is a test hook listing the ids of outstanding offers of a
// framework.
func (m *Master) Offers(fw mesos.FrameworkID) []mesos.OfferID {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ids []mesos.OfferID
	for id, o := range m.offers {
		if o.framework == fw.Value {
			ids = append(ids, mesos.OfferID{Value: id})
		}
	}
	return ids
}

// RemoveAgent is a test hook modelling agent loss. With unreachable set the
// agent is partitioned (it may come back through AddAgent, which then
// restores its tasks, see restorePartitioned): tasks get
// TASK_UNREACHABLE (TASK_LOST for frameworks that are not PARTITION_AWARE)
// with REASON_AGENT_REMOVED and unreachable_time. Otherwise the agent is
// gone for good: TASK_GONE_BY_OPERATOR / TASK_LOST with
// REASON_AGENT_REMOVED_BY_OPERATOR. In both cases its offers are rescinded
// and connected frameworks get a FAILURE event naming the agent. The
// master stops calling the agent; stopping it is the caller's business.
func (m *Master) RemoveAgent(id mesos.AgentID, unreachable bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	a := m.agents[id.Value]
	if a == nil {
		return fmt.Errorf("remove agent: %s is not registered", id.Value)
	}
	now := time.Now()
	m.rescindAgentOffers(id.Value)
	for key, t := range m.tasks {
		if t.agent != id.Value {
			continue
		}
		m.dropTask(key)
		if isTerminal(t.status.GetState()) {
			continue
		}
		if unreachable {
			m.stashPartitioned(id.Value, t, key, nil, execKey{})
		}
		fw := m.frameworks[key.framework]
		if fw == nil {
			continue
		}
		state, reason := mesos.TASK_GONE_BY_OPERATOR, mesos.REASON_AGENT_REMOVED_BY_OPERATOR
		if unreachable {
			state, reason = mesos.TASK_UNREACHABLE, mesos.REASON_AGENT_REMOVED
		}
		if !fw.partitionAware() {
			state = mesos.TASK_LOST
		}
		st := masterStatus(t.info.TaskID, id.Value, state, reason, "Agent "+id.Value+" removed")
		if t.executor != "" {
			st.ExecutorID = &mesos.ExecutorID{Value: t.executor}
		}
		if unreachable {
			st.UnreachableTime = &mesos.TimeInfo{Nanoseconds: now.UnixNano()}
		}
		fw.send(updateEvent(st))
	}
	for key, e := range m.executors {
		if key.agent == id.Value {
			if unreachable {
				m.stashPartitioned(id.Value, nil, taskKey{}, e, key)
			}
			m.dropExecutor(key)
		}
	}
	a.queue.close()
	delete(m.agents, id.Value)
	order := m.agentOrder[:0]
	for _, aid := range m.agentOrder {
		if aid != id.Value {
			order = append(order, aid)
		}
	}
	m.agentOrder = order
	if unreachable {
		m.unreachable[id.Value] = now
	}
	aid := id
	for _, fw := range m.frameworks {
		fw.send(&scheduler.Event{Type: scheduler.Event_FAILURE, Failure: &scheduler.Event_Failure{AgentID: &aid}})
	}
	m.log.Info("agent removed", "agent_id", id.Value, "unreachable", unreachable)
	return nil
}

// Restart is a test hook modelling a master failover: every framework,
// offer, filter, failover timer and stream is dropped and the master gets a
// new id, while agents keep running their tasks with their unacknowledged
// updates. Agents "re-register" after reregisterAfter; until then their
// tasks are unknown and explicit reconciliation about them gets no answer.
// Schedulers must re-subscribe with their framework id.
func (m *Master) Restart(reregisterAfter time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, fw := range m.frameworks {
		fw.stopTimer()
		if fw.stream != nil {
			fw.stream.abort()
			fw.stream = nil
		}
	}
	tasks, executors := m.tasks, m.executors
	m.id = newUUID()
	m.resetState()
	// Tasks survive on the agents; the new master learns them again when
	// the agents re-register, modelled here by keeping them aside.
	for _, a := range m.agents {
		a.recovering = true
	}
	m.log.Info("master restarted", "master_id", m.id)
	if reregisterAfter <= 0 {
		m.reregister(tasks, executors)
		return
	}
	time.AfterFunc(reregisterAfter, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.reregister(tasks, executors)
	})
}

// reregister completes Restart: agents report their tasks and executors
// again. Must hold m.mu.
func (m *Master) reregister(tasks map[taskKey]*task, executors map[execKey]*executor) {
	if m.closed {
		return
	}
	for key, t := range tasks {
		if m.agents[t.agent] != nil {
			m.putTask(key, t)
		}
	}
	for key, e := range executors {
		if m.agents[key.agent] != nil {
			m.putExecutor(key, e)
		}
	}
	for _, a := range m.agents {
		a.recovering = false
	}
	m.kickAllocator()
}
