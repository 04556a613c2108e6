package agent

import (
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
)

// In-process executors (the simulated containerizer's) skip the executor
// HTTP API: the agent connects them when their container starts instead of
// waiting for SUBSCRIBE, hands them events through an eventSink, and takes
// their updates as if they came in UPDATE calls. Everything past that
// point (the status update manager, acknowledgements, the master) is the
// same as for a real executor.

// inProcessContainer is a container whose executor lives in the agent
// process.
type inProcessContainer interface {
	// connect subscribes the executor: events go to the returned sink,
	// and update is its UPDATE call. It is called under the agent's lock
	// and must not call back synchronously.
	connect(update func(mesos.TaskStatus)) eventSink
	// onExit registers f, called once after Done is closed, on another
	// goroutine and without the agent's lock. The agent then needs no
	// goroutine per container waiting on Done.
	onExit(f func())
}

// sandboxless is implemented by containerizers that start nothing on the
// host: the agent creates no sandbox directory and fetches no URIs for
// them.
type sandboxless interface {
	sandboxless()
}

func (a *Agent) connectInProcessLocked(ex *executorRun, c inProcessContainer) {
	ex.sub = c.connect(func(st mesos.TaskStatus) { a.inProcessUpdate(ex, st) })
	a.subscribedLocked(ex, &executor.Call_Subscribe{})
}

// inProcessUpdate is the UPDATE call of an in-process executor.
func (a *Agent) inProcessUpdate(ex *executorRun, st mesos.TaskStatus) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ex.state == executorTerminated {
		return
	}
	a.fillStatus(&st, ex)
	a.recordExecutorUpdateLocked(ex, st)
}

// inProcessExited does for an in-process container what watch does for
// the others.
func (a *Agent) inProcessExited(ex *executorRun, c Container) {
	defer a.wg.Done()
	a.mu.Lock()
	defer a.mu.Unlock()
	a.containerEndedLocked(ex, c)
}
