package agent

import (
	"bytes"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// updateManager is the agent's task status update manager. Per task it
// keeps a queue of reliable updates of which only the oldest is in flight
// to the master; it is resent with a doubling interval until the master
// passes on the scheduler's acknowledgement for exactly that uuid, then the
// next one goes out. Once the terminal update is acknowledged the task's
// stream is closed.
type updateManager struct {
	initial, max time.Duration
	forward      func(mesos.TaskStatus) // must not block

	mu      sync.Mutex
	streams map[streamKey]*updateStream
	// closed remembers the uuids of recently closed streams, so an executor
	// that resends an update after its terminal acknowledgement is
	// re-acknowledged instead of starting a new stream.
	closed      map[streamKey]map[string]struct{}
	closedOrder []streamKey
	closedMax   int
	stopped     bool
}

type streamKey struct{ framework, task string }

type updateStream struct {
	key      streamKey
	pending  []mesos.TaskStatus
	seen     map[string]struct{}
	interval time.Duration
	timer    *time.Timer
	// gen invalidates retry timers that fired while the stream moved on.
	gen uint64
}

func newUpdateManager(initial, max time.Duration, forward func(mesos.TaskStatus)) *updateManager {
	return &updateManager{
		initial:   initial,
		max:       max,
		forward:   forward,
		streams:   map[streamKey]*updateStream{},
		closed:    map[streamKey]map[string]struct{}{},
		closedMax: defaultCompletedStreamsKept,
	}
}

// add records a reliable update. It reports false for a duplicate (a uuid
// seen before for this task), which must be re-acknowledged to the
// executor but not forwarded again.
func (m *updateManager) add(fw mesos.FrameworkID, st mesos.TaskStatus) bool {
	key := streamKey{fw.Value, st.TaskID.Value}
	id := string(st.UUID)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return false
	}
	if _, dup := m.closed[key][id]; dup {
		return false
	}
	s := m.streams[key]
	if s == nil {
		s = &updateStream{key: key, seen: map[string]struct{}{}}
		m.streams[key] = s
	}
	if _, dup := s.seen[id]; dup {
		return false
	}
	s.seen[id] = struct{}{}
	s.pending = append(s.pending, st)
	if len(s.pending) == 1 {
		s.interval = m.initial
		m.sendLocked(s)
	}
	return true
}

// ack handles the scheduler's acknowledgement. ok is false when the uuid is
// not that of the update in flight (the ack is then ignored); terminal
// reports that the acknowledged update ended the task's stream.
func (m *updateManager) ack(fw mesos.FrameworkID, task mesos.TaskID, uuid []byte) (ok, terminal bool) {
	key := streamKey{fw.Value, task.Value}
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.streams[key]
	if s == nil || len(s.pending) == 0 || !bytes.Equal(s.pending[0].UUID, uuid) {
		return false, false
	}
	s.stopTimer()
	acked := s.pending[0]
	s.pending[0] = mesos.TaskStatus{}
	s.pending = s.pending[1:]
	if isTerminal(acked.GetState()) {
		// Anything queued behind a terminal update can never matter to the
		// scheduler: the task is gone for the master once this is acked.
		m.closeLocked(s)
		return true, true
	}
	if len(s.pending) > 0 {
		s.interval = m.initial
		m.sendLocked(s)
	}
	return true, false
}

// hasPending reports whether the task has an update not yet acknowledged.
func (m *updateManager) hasPending(fw mesos.FrameworkID, task mesos.TaskID) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.streams[streamKey{fw.Value, task.Value}]
	return s != nil && len(s.pending) > 0
}

// resend forwards every in-flight update of the framework at once and
// restarts its backoff: the framework has just (re)subscribed, so waiting
// out a long retry interval would only delay it.
func (m *updateManager) resend(fw mesos.FrameworkID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, s := range m.streams {
		if key.framework == fw.Value && len(s.pending) > 0 {
			s.stopTimer()
			s.interval = m.initial
			m.sendLocked(s)
		}
	}
}

// removeFramework drops every stream of a framework the master removed.
func (m *updateManager) removeFramework(fw mesos.FrameworkID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, s := range m.streams {
		if key.framework == fw.Value {
			s.stopTimer()
			delete(m.streams, key)
		}
	}
}

func (m *updateManager) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.stopped = true
	for _, s := range m.streams {
		s.stopTimer()
	}
}

func (m *updateManager) sendLocked(s *updateStream) {
	if m.stopped {
		return
	}
	m.forward(s.pending[0])
	s.gen++
	gen, key, interval := s.gen, s.key, s.interval
	s.timer = time.AfterFunc(interval, func() { m.retry(key, gen) })
}

func (m *updateManager) retry(key streamKey, gen uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.streams[key]
	if s == nil || s.gen != gen || len(s.pending) == 0 {
		return
	}
	s.interval = min(2*s.interval, m.max)
	m.sendLocked(s)
}

func (m *updateManager) closeLocked(s *updateStream) {
	delete(m.streams, s.key)
	if _, ok := m.closed[s.key]; !ok {
		m.closedOrder = append(m.closedOrder, s.key)
	}
	m.closed[s.key] = s.seen
	for len(m.closedOrder) > m.closedMax {
		delete(m.closed, m.closedOrder[0])
		m.closedOrder = m.closedOrder[1:]
	}
}

func (s *updateStream) stopTimer() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	s.gen++
}

// isTerminal mirrors protobuf::isTerminalState: the states after which the
// update stream closes and resources are released.
func isTerminal(st mesos.TaskState) bool {
	switch st {
	case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_ERROR,
		mesos.TASK_LOST, mesos.TASK_DROPPED, mesos.TASK_GONE, mesos.TASK_GONE_BY_OPERATOR:
		return true
	}
	return false
}
