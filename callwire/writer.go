package callwire

import (
	"errors"
	"io"
	"runtime"
	"sync"
)

// ErrClosed is what Append returns once the writer has stopped.
var ErrClosed = errors.New("callwire: channel closed")

const (
	// maxSpare bounds the buffer a Writer keeps between writes: one large
	// call should not pin megabytes for the small ones that follow.
	maxSpare = 256 << 10
	// maxRounds bounds the writes one Append makes for frames others
	// appended meanwhile before it hands the rest to a goroutine, so that
	// no caller is kept writing for everyone under sustained load.
	maxRounds = 4
)

// Writer sends frames on one connection from many goroutines. The first
// goroutine to Append while nothing is being written writes its frame
// itself, at once; frames appended while a write is under way wait in a
// shared buffer and leave together in the next write. Alone, a frame goes
// out with no goroutine handoff; under load several frames share a
// syscall and the peer's wakeup.
type Writer struct {
	w       io.Writer
	onError func(error)

	mu        sync.Mutex
	idle      sync.Cond // signalled when writing goes false
	buf       []byte    // frames waiting to be written
	spare     []byte    // the previous buffer, reused once written
	writing   bool      // a goroutine is writing buf out
	finishing bool      // Finish was called: Append fails
	err       error     // set once: why the writer stopped
}

// NewWriter returns a Writer on w. onError, if not nil, is called once,
// on its own goroutine, with the first write error.
func NewWriter(w io.Writer, onError func(error)) *Writer {
	wr := &Writer{w: w, onError: onError, buf: make([]byte, 0, 4<<10)}
	wr.idle.L = &wr.mu
	return wr
}

// Append adds the frames build appends and sees that they are written.
// build runs under the writer's lock: it must only append. An error means
// nothing was appended: the writer has stopped.
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
	if w.writing {
		w.mu.Unlock() // the goroutine writing takes this frame next
		return nil
	}
	w.writing = true
	// Let the goroutines that are ready to run go first: under load they
	// are other calls about to append, and their frames then leave in
	// this write. Alone, this costs a trip through the scheduler.
	w.mu.Unlock()
	runtime.Gosched()
	w.mu.Lock()
	w.flush(maxRounds) // unlocks
	return nil
}

// flush writes buf until it is empty, at most rounds times, then hands
// what is left to a new goroutine. Called with mu held and writing set;
// returns with mu released.
func (w *Writer) flush(rounds int) {
	for ; rounds > 0 && len(w.buf) > 0 && w.err == nil; rounds-- {
		// Swap buffers: others fill the spare while this one is written.
		out := w.buf
		w.buf, w.spare = w.spare[:0], nil
		w.mu.Unlock()
		_, err := w.w.Write(out)
		if cap(out) > maxSpare {
			out = make([]byte, 0, 4<<10)
		}
		w.mu.Lock()
		w.spare = out[:0]
		if err != nil && w.err == nil {
			w.err = err
			if w.onError != nil {
				go w.onError(err)
			}
		}
	}
	if len(w.buf) > 0 && w.err == nil {
		go func() {
			w.mu.Lock()
			w.flush(maxRounds)
		}()
		w.mu.Unlock()
		return
	}
	w.writing = false
	w.idle.Broadcast()
	w.mu.Unlock()
}

// Finish waits until every frame appended so far is written, then stops
// the writer: Append fails from now on.
func (w *Writer) Finish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.finishing = true
	for w.writing {
		w.idle.Wait()
	}
	if w.err == nil {
		w.err = ErrClosed
	}
}

// Close stops the writer; frames not yet written are dropped and Append
// fails from now on. A write under way finishes.
func (w *Writer) Close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = ErrClosed
	}
}
