package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrNotLoaded: the pool's workers were started without code (Config.
// Waiting) and Load has not succeeded yet.
var ErrNotLoaded = errors.New("no function is loaded yet")

// LoadRequest is the payload of a KindLoad frame: the code a waiting worker
// loads, and the environment the function sees (a waiting worker was
// started before anyone knew which function it would run).
type LoadRequest struct {
	// Code is the path of the function's code.
	Code string `json:"code"`
	// Env is added to the worker's environment before the code loads.
	Env map[string]string `json:"env,omitempty"`
}

// frame encodes r as a complete KindLoad frame.
func (r LoadRequest) frame() ([]byte, error) {
	payload, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode load request: %w", err)
	}
	frame := AppendFrameHeader(make([]byte, 0, HeaderSize+len(payload)), KindLoad, len(payload))
	return append(frame, payload...), nil
}

// load hands a waiting worker its code (a complete KindLoad frame) and
// waits until it has loaded, at most until ctx is done. A *LoadError means
// the code is broken.
func (p *process) load(ctx context.Context, frame []byte) error {
	if !p.waiting {
		return errors.New("load function: the worker is not waiting for code")
	}
	if d, ok := ctx.Deadline(); ok {
		p.requests.SetWriteDeadline(d)
	}
	if _, err := p.requests.Write(frame); err != nil {
		return fmt.Errorf("load function: send the load request: %w", err)
	}
	if err := p.handshake(ctx); err != nil {
		return err
	}
	if p.waiting {
		return errors.New("load function: the worker is still waiting after the load request")
	}
	return nil
}

// spawn starts one worker for the pool: loaded with the function's code,
// or, for a waiting pool, waiting for it, and handed it at once when Load
// has already run (a replacement for a worker that died).
func (p *Pool) spawn(ctx context.Context) (*process, error) {
	proc, err := startProcess(ctx, p.cfg.Command)
	if err != nil {
		return nil, err
	}
	switch {
	case !p.cfg.Waiting && proc.waiting:
		proc.kill()
		return nil, errors.New("start worker: the worker waits for code; its command names none")
	case p.cfg.Waiting && !proc.waiting:
		proc.kill()
		return nil, errors.New("start worker: a worker started without code did not say it waits for some")
	}
	if f := p.loadFrame.Load(); f != nil {
		if err := proc.load(ctx, *f); err != nil {
			proc.kill()
			return nil, err
		}
	}
	return proc, nil
}

// LoadConfig is what a waiting pool learns with its function.
type LoadConfig struct {
	// Size is the number of workers the function wants; the pool grows
	// to it (it never shrinks), clamped to MaxSize.
	Size int
	// CallTimeout bounds one call; 0 keeps the pool's.
	CallTimeout time.Duration
	// MemoryLimitMB is the function's memory limit, named in errors.
	MemoryLimitMB int
}

// Load hands the function's code to every worker of a pool started with
// Config.Waiting, in parallel, starting more workers when lc.Size asks for
// them, and opens the pool to calls. A *LoadError means the code is
// broken; after any error the pool stays closed to calls. Load succeeds
// once per pool.
func (p *Pool) Load(ctx context.Context, req LoadRequest, lc LoadConfig) error {
	if !p.cfg.Waiting {
		return errors.New("load function: the pool's workers were started with their code")
	}
	if p.loaded.Load() {
		return errors.New("load function: the pool has a function already")
	}
	frame, err := req.frame()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, p.cfg.LoadTimeout)
	defer cancel()

	// Hold every slot: no call runs before the load, but a worker that died
	// while waiting may still be being replaced.
	held := make([]*slot, 0, MaxSize)
	release := func() {
		for _, s := range held {
			p.release(s)
		}
	}
	p.mu.Lock()
	n := len(p.slots)
	p.mu.Unlock()
	for range n {
		select {
		case s := <-p.idle:
			held = append(held, s)
		case <-ctx.Done():
			release()
			return fmt.Errorf("load function: %w", context.Cause(ctx))
		case <-p.closed:
			release()
			return ErrClosed
		}
	}
	p.mu.Lock()
	if p.isClosed() {
		p.mu.Unlock()
		release()
		return ErrClosed
	}
	for len(p.slots) < min(max(lc.Size, 1), MaxSize) {
		s := &slot{}
		p.slots = append(p.slots, s)
		held = append(held, s)
	}
	size := len(p.slots)
	p.mu.Unlock()

	errs := make([]error, len(held))
	var wg sync.WaitGroup
	for i, s := range held {
		wg.Go(func() {
			proc := s.get()
			if proc == nil || !proc.alive() {
				// A new slot, or a worker that died while it waited.
				if proc != nil {
					proc.kill()
				}
				fresh, err := p.spawn(ctx)
				if err != nil {
					errs[i] = err
					cancel()
					return
				}
				s.set(fresh)
				proc = fresh
			}
			if err := proc.load(ctx, frame); err != nil {
				errs[i] = err
				cancel() // one failure fails the load; stop waiting for the rest
			}
		})
	}
	wg.Wait()
	if err := firstError(errs); err != nil {
		release()
		return err
	}
	// From here on a replacement worker is handed the code too.
	p.loadFrame.Store(&frame)
	p.cfg.Size = size
	if p.autoQueue {
		p.cfg.QueueLimit = 4 * size
	}
	if lc.CallTimeout > 0 {
		p.cfg.CallTimeout = lc.CallTimeout
	}
	p.cfg.MemoryLimitMB = lc.MemoryLimitMB
	p.loaded.Store(true)
	release()
	return nil
}
