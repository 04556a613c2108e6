package agent

import "sync"

// outbox runs calls to the master on one goroutine, in the order they were
// queued. The agent never calls the master while holding its own lock (the
// master may call straight back, Acknowledge from inside StatusUpdate for
// instance), and the single goroutine keeps, say, a task's TASK_FAILED
// ahead of its executor's ExecutorTerminated.
type outbox struct {
	mu      sync.Mutex
	queue   []func()
	wake    chan struct{}
	stopped bool
	done    chan struct{}
}

func newOutbox() *outbox {
	o := &outbox{wake: make(chan struct{}, 1), done: make(chan struct{})}
	go o.run()
	return o
}

// push queues fn; it never blocks. After stop it drops fn.
func (o *outbox) push(fn func()) {
	o.mu.Lock()
	if o.stopped {
		o.mu.Unlock()
		return
	}
	o.queue = append(o.queue, fn)
	// Signal under the lock so stop cannot close wake in between.
	select {
	case o.wake <- struct{}{}:
	default:
	}
	o.mu.Unlock()
}

// stop drops what is still queued and waits for the call in progress.
func (o *outbox) stop() {
	o.mu.Lock()
	if !o.stopped {
		o.stopped = true
		o.queue = nil
		close(o.wake)
	}
	o.mu.Unlock()
	<-o.done
}

func (o *outbox) run() {
	defer close(o.done)
	for range o.wake {
		for {
			o.mu.Lock()
			if o.stopped || len(o.queue) == 0 {
				o.mu.Unlock()
				break
			}
			fn := o.queue[0]
			o.queue[0] = nil
			o.queue = o.queue[1:]
			o.mu.Unlock()
			fn()
		}
	}
}
