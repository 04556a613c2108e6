package master

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// stream is one SUBSCRIBE response: an unbounded FIFO of events written by
// the HTTP handler goroutine that owns the connection. Producers enqueue
// while holding the master mutex, so events leave in the order the master
// decided them; the queue never blocks the master on a slow scheduler.
type stream struct {
	id        string // Mesos-Stream-Id
	mediaType string
	framework string // set by subscribe; guarded by the master mutex

	mu       sync.Mutex
	queue    []*scheduler.Event
	wake     chan struct{} // capacity 1: "queue is not empty"
	done     chan struct{} // closed once the master ends the stream
	ended    bool
	frozen   atomic.Bool   // test hook: keep the connection, send nothing
	drop     chan struct{} // closed to break the connection abruptly
	dropOnce sync.Once
}

func newStream(mediaType string) *stream {
	return &stream{
		id:        newUUID(),
		mediaType: mediaType,
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		drop:      make(chan struct{}),
	}
}

// send queues an event; it is a no-op once the stream has ended.
func (s *stream) send(ev *scheduler.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	s.queue = append(s.queue, ev)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// end queues an optional last event and closes the stream after it.
func (s *stream) end(last *scheduler.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	if last != nil {
		s.queue = append(s.queue, last)
	}
	s.ended = true
	close(s.done)
}

// abort breaks the connection without a final event, as a network would.
func (s *stream) abort() {
	s.dropOnce.Do(func() { close(s.drop) })
}

func (s *stream) take() []*scheduler.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q
}

// serve writes the stream to w until the master ends it, the client goes
// away or the connection is dropped. It returns true when the connection
// broke (client gone or dropped) rather than being ended by the master.
func (s *stream) serve(r *http.Request, w http.ResponseWriter, heartbeat time.Duration) (broken bool) {
	flusher, _ := w.(http.Flusher)
	write := func(evs []*scheduler.Event) error {
		if s.frozen.Load() {
			return nil
		}
		for _, ev := range evs {
			b, err := encodeEvent(s.mediaType, ev)
			if err != nil {
				return err
			}
			if _, err := w.Write(frame(b)); err != nil {
				return fmt.Errorf("write %s event: %w", ev.Type, err)
			}
		}
		if flusher != nil {
			flusher.Flush()
		}
		return nil
	}
	ticker := time.NewTicker(heartbeat)
	defer ticker.Stop()
	hb := &scheduler.Event{Type: scheduler.Event_HEARTBEAT}
	for {
		select {
		case <-r.Context().Done():
			return true
		case <-s.drop:
			return true
		case <-s.done:
			_ = write(s.take())
			return false
		case <-s.wake:
			if err := write(s.take()); err != nil {
				return true
			}
		case <-ticker.C:
			if err := write([]*scheduler.Event{hb}); err != nil {
				return true
			}
		}
	}
}

// newUUID returns a random RFC 4122 version 4 UUID in text form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
