package agent

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/mesos/mesos-go/api/v1/lib/executor"
)

// eventSink is where the agent sends an executor its events: the
// executor's SUBSCRIBE stream, or an in-process executor. send must not
// block (it is called under the agent's lock) and reports false once the
// sink is closed.
type eventSink interface {
	send(ev *executor.Event) bool
	close()
}

// subscription is one executor's SUBSCRIBE stream. Events are queued
// without blocking (the agent queues them under its lock) and written by
// the HTTP handler goroutine, one RecordIO frame each, flushed at once.
type subscription struct {
	media mediaType

	mu     sync.Mutex
	queue  []*executor.Event
	closed bool
	wake   chan struct{}
}

func newSubscription(media mediaType) *subscription {
	return &subscription{media: media, wake: make(chan struct{}, 1)}
}

// send queues ev; false once the stream is closing.
func (s *subscription) send(ev *executor.Event) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.queue = append(s.queue, ev)
	s.signal()
	return true
}

// close ends the stream after the events already queued are written.
func (s *subscription) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.signal()
}

func (s *subscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *subscription) take() ([]*executor.Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q, s.closed
}

// serve writes the stream until it is closed, the client goes away or ctx
// ends. The response is chunked without Content-Length: mesos-go reads
// RecordIO only from bodies of unknown length.
func (s *subscription) serve(ctx context.Context, w http.ResponseWriter, heartbeat time.Duration, log *slog.Logger) {
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", string(s.media))
	w.Header().Del("Content-Length")
	w.WriteHeader(http.StatusOK)
	if flusher != nil {
		flusher.Flush()
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		events, closed := s.take()
		for _, ev := range events {
			if err := s.writeFrame(w, ev, log); err != nil {
				log.Debug("executor stream write failed", "error", err)
				s.close()
				return
			}
		}
		if len(events) > 0 && flusher != nil {
			flusher.Flush()
		}
		if closed {
			return
		}
		select {
		case <-s.wake:
		case <-tick.C:
			s.send(&executor.Event{Type: executor.Event_HEARTBEAT})
		case <-ctx.Done():
			s.close()
			return
		}
	}
}

func (s *subscription) writeFrame(w http.ResponseWriter, ev *executor.Event, log *slog.Logger) error {
	b, err := s.media.marshalEvent(ev)
	if err != nil {
		// A malformed event (a required field missing) is dropped rather
		// than ending the stream of an otherwise healthy executor.
		log.Error("encode executor event", "event", ev.Type.String(), "error", err)
		return nil
	}
	frame := make([]byte, 0, len(b)+12)
	frame = strconv.AppendInt(frame, int64(len(b)), 10)
	frame = append(frame, '\n')
	frame = append(frame, b...)
	_, err = w.Write(frame)
	return err
}
