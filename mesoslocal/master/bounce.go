package master

import "time"

// Bounce is a test hook modelling a master restart that keeps its memory
// (a process restart that recovers its state, or a short outage of the
// leading master): every subscription connection breaks, the master
// answers 503 ("recovering") for downFor, and then serves again with the
// same id, frameworks, tasks and executors. Frameworks are disconnected
// meanwhile, so their failover timers run and their offers are withdrawn,
// exactly as when only their streams break; what differs from Restart is
// that nothing is forgotten.
func (m *Master) Bounce(downFor time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults.unavailable = true
	for _, fw := range m.frameworks {
		if s := fw.stream; s != nil {
			s.abort()
			m.disconnected(fw, s)
		}
	}
	m.log.Info("master bounced", "master_id", m.id, "down_for", downFor)
	time.AfterFunc(downFor, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.faults.unavailable = false
	})
}
