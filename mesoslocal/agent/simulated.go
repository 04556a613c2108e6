package agent

import (
	"context"
	"sync"
	"syscall"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
)

// SimulatedContainerizer starts no processes. It exists for scheduler
// measurements at scale (10,000 tasks over 500 agents in one process),
// where real executors would measure the machine instead of the
// scheduler. Every container plays a built-in executor that answers each
// LAUNCH with TASK_STARTING then TASK_RUNNING, each KILL with TASK_KILLED,
// and SHUTDOWN with TASK_KILLED for what it still runs before exiting with
// status 0. A command task runs until it is killed.
//
// The simulated executor bypasses the executor HTTP API: the agent
// connects it in-process when the container starts and takes its updates
// directly (see inprocess.go). What the master and the scheduler see,
// including reliable updates retried until acknowledged, is unchanged;
// SUBSCRIBE streams, heartbeats, ACKNOWLEDGED events, sandboxes and URI
// fetching are not exercised.
//
// It is cheap per task: no listener, no process, no goroutine. One
// goroutine per containerizer works through the events of all its
// containers in order, and only while there are any.
type SimulatedContainerizer struct {
	mu      sync.Mutex
	queue   []simWork
	working bool
}

// NewSimulatedContainerizer returns a simulated containerizer.
func NewSimulatedContainerizer() *SimulatedContainerizer { return &SimulatedContainerizer{} }

func (*SimulatedContainerizer) sandboxless() {}

// Launch returns a container that is "running" at once.
func (s *SimulatedContainerizer) Launch(context.Context, LaunchSpec) (Container, error) {
	return &simContainer{owner: s, done: make(chan struct{}), status: -1}, nil
}

// simWork is one thing for a container to do: an event from the agent,
// or a signal when ev is nil.
type simWork struct {
	c   *simContainer
	ev  *executor.Event
	sig syscall.Signal
}

func (s *SimulatedContainerizer) enqueue(w simWork) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, w)
	if !s.working {
		s.working = true
		go s.work()
	}
}

func (s *SimulatedContainerizer) work() {
	for {
		s.mu.Lock()
		batch := s.queue
		s.queue = nil
		if len(batch) == 0 {
			s.working = false
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
		for _, w := range batch {
			w.c.handle(w)
		}
	}
}

type simContainer struct {
	owner *SimulatedContainerizer
	done  chan struct{}

	// Set once, under the agent's lock, before any work for the container
	// can be queued.
	update func(mesos.TaskStatus)
	exited func()

	// tasks are the live tasks; only the worker goroutine touches them.
	tasks map[string]struct{}

	mu         sync.Mutex
	status     int
	ended      bool
	sinkClosed bool
}

func (c *simContainer) connect(update func(mesos.TaskStatus)) eventSink {
	c.update = update
	return simSink{c}
}

func (c *simContainer) onExit(f func()) {
	c.mu.Lock()
	ended := c.ended
	c.exited = f
	c.mu.Unlock()
	if ended {
		go f()
	}
}

// Signal ends the simulated process with sig, as an executor without a
// handler would end; signal 0 only probes.
func (c *simContainer) Signal(sig syscall.Signal) error {
	c.owner.enqueue(simWork{c: c, sig: sig})
	return nil
}

func (c *simContainer) Destroy() error { return c.Signal(syscall.SIGKILL) }

func (c *simContainer) Done() <-chan struct{} { return c.done }

func (c *simContainer) WaitStatus() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// simSink is the simulated executor's end of the agent's events.
type simSink struct{ c *simContainer }

func (s simSink) send(ev *executor.Event) bool {
	s.c.mu.Lock()
	closed := s.c.sinkClosed || s.c.ended
	s.c.mu.Unlock()
	if closed {
		return false
	}
	s.c.owner.enqueue(simWork{c: s.c, ev: ev})
	return true
}

func (s simSink) close() {
	s.c.mu.Lock()
	s.c.sinkClosed = true
	s.c.mu.Unlock()
}

// handle runs on the worker goroutine.
func (c *simContainer) handle(w simWork) {
	c.mu.Lock()
	ended := c.ended
	c.mu.Unlock()
	if ended {
		return
	}
	if w.ev == nil {
		if w.sig != 0 {
			c.end(int(w.sig)) // a wait status of "killed by sig"
		}
		return
	}
	switch w.ev.Type {
	case executor.Event_LAUNCH:
		id := w.ev.Launch.Task.TaskID
		if c.tasks == nil {
			c.tasks = map[string]struct{}{}
		}
		c.tasks[id.Value] = struct{}{}
		c.report(id, mesos.TASK_STARTING)
		c.report(id, mesos.TASK_RUNNING)
	case executor.Event_KILL:
		id := w.ev.Kill.TaskID
		if _, ok := c.tasks[id.Value]; ok {
			delete(c.tasks, id.Value)
			c.report(id, mesos.TASK_KILLED)
		}
	case executor.Event_SHUTDOWN:
		for id := range c.tasks {
			c.report(mesos.TaskID{Value: id}, mesos.TASK_KILLED)
		}
		c.tasks = nil
		c.end(0)
	}
}

func (c *simContainer) report(task mesos.TaskID, state mesos.TaskState) {
	src := mesos.SOURCE_EXECUTOR
	c.update(mesos.TaskStatus{TaskID: task, State: &state, Source: &src, UUID: newUUID()})
}

func (c *simContainer) end(status int) {
	c.mu.Lock()
	c.ended = true
	c.status = status
	f := c.exited
	c.mu.Unlock()
	close(c.done)
	if f != nil {
		f()
	}
}
