package worker

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Command is how to start one worker.
type Command struct {
	// Argv is the worker's command line, paths already substituted.
	Argv []string
	// Dir is the worker's working directory (the task sandbox).
	Dir string
	// Env is the worker's environment; nil inherits the executor's.
	Env []string
	// Log receives the worker's stdout and stderr: the function's log. It
	// is an *os.File (in the executor, the write end of funclog's pipe) so
	// the child gets it as its fd 1 and 2 and no goroutine per worker copies.
	Log *os.File
	// MaxFrame bounds a frame from the worker; 0 means DefaultMaxFrame.
	MaxFrame int
}

// process is one running worker and the two pipes that talk to it. Only
// the goroutine that owns the process (the one holding its slot) calls
// call; kill may be called from anywhere, any number of times.
type process struct {
	cmd      *exec.Cmd
	requests *os.File // our end of the worker's fd 3
	answers  *os.File // our end of the worker's fd 4
	reader   *bufio.Reader
	maxFrame int

	exited   chan struct{} // closed once the process has been reaped
	waitErr  error         // valid after exited is closed
	killOnce sync.Once
	// waiting: the worker was started without code (a stem's) and waits
	// for a load frame (load.go). Set by the handshake.
	waiting bool
}

// startProcess starts a worker and waits for it to load the code, at most
// until ctx is done. A *LoadError means the code itself is broken.
func startProcess(ctx context.Context, c Command) (*process, error) {
	if len(c.Argv) == 0 {
		return nil, errors.New("start worker: empty command")
	}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start worker: request pipe: %w", err)
	}
	ansR, ansW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, fmt.Errorf("start worker: answer pipe: %w", err)
	}
	cmd := exec.Command(c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	if c.Log != nil {
		cmd.Stdout, cmd.Stderr = c.Log, c.Log
	}
	cmd.ExtraFiles = []*os.File{reqR, ansW} // fd 3 and fd 4 in the worker
	cmd.SysProcAttr = sysProcAttr()
	err = startOnForker(cmd)
	// The child has its copies now. Closing ours matters: the answer pipe
	// must reach EOF when the worker dies, which needs every write end gone.
	reqR.Close()
	ansW.Close()
	if err != nil {
		reqW.Close()
		ansR.Close()
		return nil, fmt.Errorf("start worker %s: %w", c.Argv[0], err)
	}
	max := c.MaxFrame
	if max <= 0 {
		max = DefaultMaxFrame
	}
	p := &process{
		cmd:      cmd,
		requests: reqW,
		answers:  ansR,
		reader:   bufio.NewReaderSize(ansR, 64<<10),
		maxFrame: max,
		exited:   make(chan struct{}),
	}
	go p.reap()

	if err := p.handshake(ctx); err != nil {
		p.kill()
		return nil, err
	}
	return p, nil
}

func (p *process) reap() {
	p.waitErr = p.cmd.Wait()
	close(p.exited)
}

// handshake reads the worker's answer to its start or to a load frame:
// loaded, waiting for code, or why the code does not load.
func (p *process) handshake(ctx context.Context) error {
	if d, ok := ctx.Deadline(); ok {
		p.answers.SetReadDeadline(d)
	}
	// Cancelling ctx unblocks the read; the goroutine exists only then.
	stop := context.AfterFunc(ctx, func() { p.answers.SetReadDeadline(time.Now()) })
	kind, payload, err := ReadFrame(p.reader, p.maxFrame)
	stop()
	p.answers.SetReadDeadline(time.Time{})
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		if ctx.Err() == context.DeadlineExceeded {
			return errors.New("load function: the worker did not finish loading the code in time")
		}
		return fmt.Errorf("load function: %w", context.Cause(ctx))
	case err != nil:
		return fmt.Errorf("load function: the worker %s", p.describeExit(err))
	case kind == KindLoaded:
		p.waiting = false
		return nil
	case kind == KindWaiting:
		p.waiting = true
		return nil
	case kind == KindLoadError:
		return &LoadError{Exception: ParseException(payload)}
	default:
		return fmt.Errorf("load function: unexpected frame kind %q from the worker", kind)
	}
}

// call sends one request frame (header included) and reads the answer. Any
// error means the worker can no longer be trusted and must be replaced.
func (p *process) call(frame []byte, deadline time.Time) (byte, []byte, error) {
	p.requests.SetWriteDeadline(deadline)
	if _, err := p.requests.Write(frame); err != nil {
		return 0, nil, fmt.Errorf("send call: %w", err)
	}
	p.answers.SetReadDeadline(deadline)
	kind, payload, err := ReadFrame(p.reader, p.maxFrame)
	if err != nil {
		return 0, nil, fmt.Errorf("read answer: %w", err)
	}
	return kind, payload, nil
}

// describeExit explains why reading from the worker failed: most often it
// exited, and how it ended is what the user needs to see.
func (p *process) describeExit(readErr error) string {
	select {
	case <-p.exited:
	case <-time.After(500 * time.Millisecond):
		return fmt.Sprintf("stopped answering: %v", readErr)
	}
	if sig, ok := p.exitSignal(); ok {
		return "was killed by " + signalName(sig)
	}
	if p.waitErr == nil {
		return "exited with status 0"
	}
	var ee *exec.ExitError
	if errors.As(p.waitErr, &ee) && ee.ExitCode() >= 0 {
		return fmt.Sprintf("exited with status %d", ee.ExitCode())
	}
	return "ended: " + p.waitErr.Error()
}

// exitSignal is the signal that ended the worker, if one did. It only
// answers once the worker has been reaped.
func (p *process) exitSignal() (syscall.Signal, bool) {
	select {
	case <-p.exited:
	default:
		return 0, false
	}
	if p.cmd.ProcessState == nil {
		return 0, false
	}
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0, false
	}
	return ws.Signal(), true
}

// signalName names a signal the way kill(1) does, "SIGKILL".
func signalName(sig syscall.Signal) string {
	switch sig {
	case syscall.SIGKILL:
		return "SIGKILL"
	case syscall.SIGSEGV:
		return "SIGSEGV"
	case syscall.SIGABRT:
		return "SIGABRT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGBUS:
		return "SIGBUS"
	}
	return fmt.Sprintf("signal %d (%s)", int(sig), sig)
}

// kill stops the worker and everything it started, and releases the pipes.
func (p *process) kill() {
	p.killOnce.Do(func() {
		// The worker leads its own process group; the negative pid reaches
		// all of it. ESRCH just means it is already gone.
		if err := syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL); err != nil {
			p.cmd.Process.Kill()
		}
		<-p.exited
		p.requests.Close()
		p.answers.Close()
	})
}

// alive reports whether the worker process is still running.
func (p *process) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}
