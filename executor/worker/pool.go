package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Defaults for a zero Config.
const (
	DefaultCallTimeout = 30 * time.Second
	DefaultLoadTimeout = 60 * time.Second
	// MaxSize caps the pool: each worker is a whole interpreter, and a
	// function asking for more concurrency than this is better served by
	// more instances.
	MaxSize = 64
)

// Config sizes and bounds a Pool.
type Config struct {
	Command Command
	// Size is the number of warm workers, clamped to [1, MaxSize].
	Size int
	// QueueLimit is how many calls may wait for a busy worker before new
	// calls are refused with ErrBusy. 0 means 4×Size.
	QueueLimit int
	// CallTimeout bounds one call, queueing included.
	CallTimeout time.Duration
	// LoadTimeout bounds starting a worker and loading the code.
	LoadTimeout time.Duration
	// OOMKills, when set, counts the processes the kernel's OOM killer has
	// killed in the instance's memory cgroup. After a worker dies of
	// SIGKILL mid-call the pool reads it: a count that grew means the
	// function went over its memory limit (a *MemoryLimitError), not that
	// it crashed.
	OOMKills func() (int64, error)
	// MemoryLimitMB is the function's memory limit, named in errors; 0 when
	// unknown.
	MemoryLimitMB int
	// Waiting starts the workers without code: Command is the driver's
	// WaitCommand, and calls fail with ErrNotLoaded until Load hands the
	// workers a function. Stems of the warm pool run such a pool.
	Waiting bool
}

func (c Config) withDefaults() Config {
	c.Size = min(max(c.Size, 1), MaxSize)
	if c.QueueLimit <= 0 {
		c.QueueLimit = 4 * c.Size
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.LoadTimeout <= 0 {
		c.LoadTimeout = DefaultLoadTimeout
	}
	return c
}

// slot is one place in the pool. Whoever received it from Pool.idle owns
// it and may use its process; mu only guards proc against Close, which
// kills every process, busy or not.
type slot struct {
	mu   sync.Mutex
	proc *process // nil while being replaced or after a failed start
}

func (s *slot) get() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc
}

func (s *slot) set(p *process) {
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
}

// Pool keeps warm workers for one function and hands each call to an idle
// one. Calls are served on the caller's goroutine: the pool starts no
// goroutine per call, only one per replaced worker.
type Pool struct {
	cfg Config
	log *slog.Logger

	slots   []*slot // grows only in Load, under mu
	idle    chan *slot
	waiting atomic.Int64
	// oomSeen is the OOM-kill count as last read, so only kills after it
	// are blamed on the worker that died now.
	oomSeen atomic.Int64

	// mu orders replacements against Close: a replacement starts only
	// while the pool is open, so Close can wait for all of them.
	mu        sync.Mutex
	closed    chan struct{}
	replacing sync.WaitGroup
	// stopping is cancelled by Close, so that a worker still loading for a
	// replacement does not hold Close up for the whole LoadTimeout.
	stopping context.Context
	stop     context.CancelFunc

	// For a pool started with Config.Waiting: loaded is set once Load has
	// succeeded (after it changed cfg), and loadFrame is what a worker
	// started after that is handed before it joins the pool.
	loaded    atomic.Bool
	loadFrame atomic.Pointer[[]byte]
	autoQueue bool // QueueLimit follows the size
}

// Start starts cfg.Size workers in parallel and waits until every one has
// loaded the code. A *LoadError means the code is broken.
func Start(ctx context.Context, cfg Config, log *slog.Logger) (*Pool, error) {
	autoQueue := cfg.QueueLimit <= 0
	cfg = cfg.withDefaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pool{
		cfg:   cfg,
		log:   log,
		slots: make([]*slot, cfg.Size),
		// Room for the largest pool: Load may grow this one.
		idle:      make(chan *slot, MaxSize),
		closed:    make(chan struct{}),
		autoQueue: autoQueue,
	}
	p.stopping, p.stop = context.WithCancel(context.Background())
	ctx, cancel := context.WithTimeout(ctx, cfg.LoadTimeout)
	defer cancel()

	errs := make([]error, cfg.Size)
	var wg sync.WaitGroup
	for i := range p.slots {
		p.slots[i] = &slot{}
		wg.Go(func() {
			proc, err := p.spawn(ctx)
			if err != nil {
				errs[i] = err
				cancel() // one failure fails the start; stop waiting for the rest
				return
			}
			p.slots[i].set(proc)
		})
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		p.Close()
		return nil, err
	}
	if cfg.OOMKills != nil {
		n, err := cfg.OOMKills()
		if err != nil {
			log.Debug("no OOM-kill counter; SIGKILLed workers are reported as such", "error", err)
			p.cfg.OOMKills = nil
		}
		p.oomSeen.Store(n)
	}
	for _, s := range p.slots {
		p.idle <- s
	}
	return p, nil
}

// oomKillsGrew reads the OOM-kill count and moves the baseline to it.
func (p *Pool) oomKillsGrew() bool {
	if p.cfg.OOMKills == nil {
		return false
	}
	n, err := p.cfg.OOMKills()
	if err != nil {
		return false
	}
	return n > p.oomSeen.Swap(n)
}

// lostError explains a worker that died during a call. It ended by
// SIGKILL and the cgroup's OOM-kill count grew since the pool last looked:
// the OOM killer took it. Every death moves the baseline, so a kill is
// blamed on one worker at most.
func (p *Pool) lostError(proc *process, detail string) error {
	grew := p.oomKillsGrew()
	sig, ok := proc.exitSignal()
	sigkill := ok && sig == syscall.SIGKILL
	if sigkill && grew {
		return &MemoryLimitError{LimitMB: p.cfg.MemoryLimitMB}
	}
	if sigkill && p.cfg.OOMKills == nil && p.cfg.MemoryLimitMB > 0 {
		// Without a counter the likeliest killer is still the OOM killer;
		// say so without claiming it.
		detail += fmt.Sprintf(" (the kernel does this to a function that exceeds its memory limit of %d MB)", p.cfg.MemoryLimitMB)
	}
	return fmt.Errorf("%w: the worker %s", ErrWorkerLost, detail)
}

// firstError prefers a LoadError, which explains the failure, over the
// cancellations it caused in the other workers.
func firstError(errs []error) error {
	var first error
	for _, err := range errs {
		var le *LoadError
		if errors.As(err, &le) {
			return err
		}
		if first == nil {
			first = err
		}
	}
	return first
}

// Size is the number of workers.
func (p *Pool) Size() int { return p.cfg.Size }

// Call runs one call. frame is a complete KindCall frame (see SealFrame);
// the answer's kind is KindResult, KindRaised or KindBadParams. The error is
// one of ErrBusy, ErrClosed, ErrDeadline, ErrWorkerLost (possibly wrapped;
// a *MemoryLimitError when the OOM killer took the worker), or ctx's error
// if ctx ended while the call was queued.
func (p *Pool) Call(ctx context.Context, frame []byte) (kind byte, payload []byte, err error) {
	// For a waiting pool, this load is what makes Load's changes to cfg
	// visible to this call.
	if p.cfg.Waiting && !p.loaded.Load() {
		return 0, nil, ErrNotLoaded
	}
	deadline := time.Now().Add(p.cfg.CallTimeout)
	s, err := p.acquire(ctx, deadline)
	if err != nil {
		return 0, nil, err
	}
	proc := s.get()
	if proc == nil || !proc.alive() {
		// The worker died while idle, or its replacement failed: start one
		// now, on this call's time. An OOM kill while idle belongs to no
		// call; moving the baseline past it keeps it off the next one.
		p.oomKillsGrew()
		if proc, err = p.restart(s, deadline); err != nil {
			p.release(s)
			if p.isClosed() {
				return 0, nil, ErrClosed
			}
			return 0, nil, fmt.Errorf("%w: no worker could be started: %v", ErrWorkerLost, err)
		}
	}
	kind, payload, err = proc.call(frame, deadline)
	if err == nil {
		switch kind {
		case KindResult, KindRaised, KindBadParams:
			p.release(s)
			return kind, payload, nil
		}
		err = fmt.Errorf("unexpected frame kind %q", kind)
	}
	// The worker is stuck, dead, or out of step with the protocol: in every
	// case it must go, and its slot gets a fresh worker in the background
	// so this call can answer now.
	timedOut := time.Now().After(deadline)
	switch {
	case p.isClosed():
		p.replace(s, proc)
		return 0, nil, ErrClosed
	case timedOut:
		p.replace(s, proc)
		return 0, nil, ErrDeadline
	default:
		// Usually the worker exited mid-call; how it ended says why.
		lost := p.lostError(proc, proc.describeExit(err))
		p.replace(s, proc)
		return 0, nil, lost
	}
}

func (p *Pool) acquire(ctx context.Context, deadline time.Time) (*slot, error) {
	if p.isClosed() {
		return nil, ErrClosed
	}
	select {
	case s := <-p.idle:
		return s, nil
	default:
	}
	if p.waiting.Add(1) > int64(p.cfg.QueueLimit) {
		p.waiting.Add(-1)
		return nil, ErrBusy
	}
	defer p.waiting.Add(-1)
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case s := <-p.idle:
		if p.isClosed() {
			p.release(s)
			return nil, ErrClosed
		}
		return s, nil
	case <-timer.C:
		return nil, ErrDeadline
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-p.closed:
		return nil, ErrClosed
	}
}

func (p *Pool) release(s *slot) { p.idle <- s }

// restart starts a worker for s synchronously, bounded by deadline.
func (p *Pool) restart(s *slot, deadline time.Time) (*process, error) {
	if old := s.get(); old != nil {
		old.kill()
	}
	ctx, cancel := context.WithDeadline(p.stopping, deadline)
	defer cancel()
	proc, err := p.spawn(ctx)
	if err != nil {
		s.set(nil)
		return nil, err
	}
	s.set(proc)
	if p.isClosed() {
		proc.kill()
		return nil, ErrClosed
	}
	return proc, nil
}

// replace kills proc and gives s a new worker in the background. The slot
// returns to the idle set when the new worker is ready (or has failed to
// start, in which case the next call on it retries).
func (p *Pool) replace(s *slot, proc *process) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isClosed() {
		proc.kill()
		s.set(nil)
		p.release(s)
		return
	}
	p.replacing.Add(1)
	go func() {
		defer p.replacing.Done()
		proc.kill()
		s.set(nil)
		if p.isClosed() {
			p.release(s)
			return
		}
		ctx, cancel := context.WithTimeout(p.stopping, p.cfg.LoadTimeout)
		defer cancel()
		fresh, err := p.spawn(ctx)
		switch {
		case err != nil:
			if !p.isClosed() {
				p.log.Warn("replace worker", "error", err)
			}
		default:
			s.set(fresh)
			if p.isClosed() {
				fresh.kill()
			}
		}
		p.release(s)
	}()
}

func (p *Pool) isClosed() bool {
	select {
	case <-p.closed:
		return true
	default:
		return false
	}
}

// Close kills every worker, busy or idle. Calls in progress fail with
// ErrClosed; later calls too. Close waits for the workers to be reaped.
func (p *Pool) Close() {
	p.mu.Lock()
	if !p.isClosed() {
		close(p.closed)
		p.stop()
	}
	slots := p.slots
	p.mu.Unlock()
	for _, s := range slots {
		if s == nil {
			continue
		}
		if proc := s.get(); proc != nil {
			proc.kill()
		}
	}
	p.replacing.Wait()
}
