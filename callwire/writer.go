package callwire

import (
	"errors"
	"io"
	"sync"
)

// ErrClosed is what Append returns once the writer has stopped.
var ErrClosed = errors.New("callwire: channel closed")

// maxSpare bounds the buffer a Writer keeps between writes: one large call
// should not pin megabytes for the small ones that follow.
const maxSpare = 256 << 10

// Writer sends frames on one connection from many goroutines. Append adds
// a frame to a shared buffer and returns at once; Run's goroutine writes
// everything that has accumulated in one Write. Under load several frames
// share a syscall (and the peer's wakeup); alone, a frame goes out as soon
// as Run gets to it.
type Writer struct {
	w    io.Writer
	wake chan struct{} // capacity 1: "there is something to write"

	mu    sync.Mutex
	buf   []byte // frames waiting to be written
	spare []byte // the previous buffer, reused once written
	err   error  // set once: why the writer stopped
	done  chan struct{}
	// finishing: Finish was called; Run stops once the buffer is out.
	finishing bool
	exited    chan struct{} // closed when Run returns
}

// NewWriter returns a Writer on w. Start Run in a goroutine of its own.
func NewWriter(w io.Writer) *Writer {
	return &Writer{
		w:      w,
		wake:   make(chan struct{}, 1),
		buf:    make([]byte, 0, 4<<10),
		done:   make(chan struct{}),
		exited: make(chan struct{}),
	}
}

// Append adds the frames build appends to the buffer. build runs under the
// writer's lock: it must only append.
func (w *Writer) Append(build func([]byte) []byte) error {
	w.mu.Lock()
	switch {
	case w.err != nil:
		err := w.err
		w.mu.Unlock()
		return err
	case w.finishing:
		w.mu.Unlock()
		return ErrClosed
	}
	w.buf = build(w.buf)
	w.mu.Unlock()
	w.wakeUp() // a pending wake-up takes this frame too
	return nil
}

// Run writes buffered frames until Close or a write error, which it
// returns (nil after Close).
func (w *Writer) Run() error {
	defer close(w.exited)
	for {
		select {
		case <-w.wake:
		case <-w.done:
			return nil
		}
		w.mu.Lock()
		if len(w.buf) == 0 {
			finishing := w.finishing
			w.mu.Unlock()
			if finishing {
				w.stop(ErrClosed)
				return nil
			}
			continue
		}
		// Swap buffers: Append fills the other one while this is written.
		out := w.buf
		w.buf, w.spare = w.spare[:0], nil
		w.mu.Unlock()
		if _, err := w.w.Write(out); err != nil {
			w.stop(err)
			return err
		}
		if cap(out) > maxSpare {
			out = make([]byte, 0, 4<<10)
		}
		w.mu.Lock()
		w.spare = out[:0]
		if w.finishing {
			w.wakeUp() // come round once more to stop
		}
		w.mu.Unlock()
	}
}

func (w *Writer) wakeUp() {
	select {
	case w.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// Finish has Run write every frame appended so far and then stop, and
// waits for that. Append fails from now on. Run must be running.
func (w *Writer) Finish() {
	w.mu.Lock()
	if w.err != nil {
		w.mu.Unlock()
		return
	}
	w.finishing = true
	w.mu.Unlock()
	w.wakeUp()
	<-w.exited
}

// Close stops the writer; frames not yet written are dropped and Append
// fails from now on.
func (w *Writer) Close() { w.stop(ErrClosed) }

func (w *Writer) stop(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
		close(w.done)
	}
}
