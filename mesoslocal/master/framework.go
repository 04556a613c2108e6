package master

import (
	"math"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// framework is the master's record of one framework, connected or not.
type framework struct {
	id     mesos.FrameworkID
	info   mesos.FrameworkInfo
	stream *stream // nil while disconnected
	// roles the framework subscribed with; suppressed is the subset that
	// currently gets no offers.
	roles      []string
	suppressed map[string]bool
	filters    []*offerFilter
	// timer fires failover_timeout after a disconnect; timerGen guards
	// against a timer that fired after a re-subscription.
	timer    *time.Timer
	timerGen int
}

func (fw *framework) hasCapability(c mesos.FrameworkInfo_Capability_Type) bool {
	for _, cap := range fw.info.Capabilities {
		if cap.Type == c {
			return true
		}
	}
	return false
}

func (fw *framework) multiRole() bool {
	return fw.hasCapability(mesos.FrameworkInfo_Capability_MULTI_ROLE)
}

func (fw *framework) partitionAware() bool {
	return fw.hasCapability(mesos.FrameworkInfo_Capability_PARTITION_AWARE)
}

func (fw *framework) refinement() bool {
	return fw.hasCapability(mesos.FrameworkInfo_Capability_RESERVATION_REFINEMENT)
}

// connected reports whether the framework has a live subscription.
func (fw *framework) connected() bool { return fw.stream != nil }

// send queues an event if the framework is connected; events for a
// disconnected framework are dropped, as in Mesos.
func (fw *framework) send(ev *scheduler.Event) {
	if fw.stream != nil {
		fw.stream.send(ev)
	}
}

func (fw *framework) stopTimer() {
	if fw.timer != nil {
		fw.timer.Stop()
		fw.timer = nil
	}
	fw.timerGen++
}

// failoverTimeout returns the framework's failover_timeout as a duration.
func (fw *framework) failoverTimeout() time.Duration {
	s := fw.info.GetFailoverTimeout()
	if s <= 0 || math.IsNaN(s) {
		return 0
	}
	if s > float64(math.MaxInt64/int64(time.Second)) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(s * float64(time.Second))
}

// disconnected handles a broken subscription connection: the framework is
// deactivated, its offers are withdrawn and the failover timer starts.
// Must hold m.mu.
func (m *Master) disconnected(fw *framework, s *stream) {
	if fw.stream != s {
		return // an older stream, already superseded
	}
	fw.stream = nil
	m.discardOffers(fw, false)
	timeout := fw.failoverTimeout()
	m.log.Info("framework disconnected", "framework_id", fw.id.Value, "failover_timeout", timeout)
	if timeout == 0 {
		m.removeFramework(fw, "failover timeout of 0 elapsed")
		return
	}
	fw.stopTimer()
	gen := fw.timerGen
	fw.timer = time.AfterFunc(timeout, func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.closed || m.frameworks[fw.id.Value] != fw || fw.timerGen != gen || fw.connected() {
			return
		}
		m.removeFramework(fw, "failover timeout elapsed")
	})
}

// removeFramework tears a framework down: its stream is closed, its offers
// discarded, agents shut down its executors and its tasks are forgotten
// (killed without status updates, as Mesos does). Must hold m.mu.
func (m *Master) removeFramework(fw *framework, why string) {
	m.log.Info("framework removed", "framework_id", fw.id.Value, "reason", why)
	fw.stopTimer()
	if fw.stream != nil {
		fw.stream.end(nil)
		fw.stream = nil
	}
	m.discardOffers(fw, false)
	for key, t := range m.tasks {
		if key.framework == fw.id.Value {
			m.releaseTask(t)
			m.dropTask(key)
		}
	}
	for key := range m.executors {
		if key.framework == fw.id.Value {
			m.dropExecutor(key)
		}
	}
	for _, id := range m.agentOrder {
		if a := m.agents[id]; a != nil {
			fid := fw.id
			a.do(func(ag Agent) { ag.ShutdownFramework(fid) })
		}
	}
	delete(m.frameworks, fw.id.Value)
	m.removed[fw.id.Value] = true
	m.kickAllocator()
}
