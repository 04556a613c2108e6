package callserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fob-project/fob/callwire"
	"github.com/fob-project/fob/executor/worker"
)

// maxStreamCalls bounds the calls in progress on one channel. The pool's
// own queue refuses calls long before this; the bound only keeps a
// misbehaving peer from making the executor start goroutines without end.
const maxStreamCalls = 4096

// serveUpgrade turns GET /calls with "Upgrade: fob-call/1" into a call
// channel (package callwire) for as long as the API keeps it open.
func (s *Server) serveUpgrade(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		s.writeError(w, http.StatusMethodNotAllowed, "use GET with Upgrade: "+callwire.Protocol)
		return
	}
	if !headerHas(r.Header, "Connection", "upgrade") || !strings.EqualFold(r.Header.Get("Upgrade"), callwire.Protocol) {
		w.Header().Set("Upgrade", callwire.Protocol)
		w.Header().Set("Connection", "Upgrade")
		s.writeError(w, http.StatusUpgradeRequired, "this endpoint only upgrades to "+callwire.Protocol)
		return
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if !s.Ready() || closed {
		// A draining, closed or not yet loaded instance takes no new
		// channel; the API sends the call to another instance.
		s.writeError(w, http.StatusServiceUnavailable, "the function is not ready")
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		s.writeError(w, http.StatusInternalServerError, "the connection cannot be upgraded")
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		s.log.Warn("call channel: hijack failed", "error", err)
		return
	}
	// The server's read deadlines were for the HTTP request; the channel
	// stays open while the API wants it.
	conn.SetDeadline(time.Time{})
	st := s.newStream(conn)
	if st == nil {
		// Closed since the check above: refuse like a draining instance.
		brw.WriteString("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 44\r\n\r\n" +
			`{"error":"the function instance is closing"}`)
		brw.Flush()
		conn.Close()
		return
	}
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + callwire.Protocol + "\r\n\r\n")
	if err := brw.Flush(); err != nil {
		conn.Close()
	}
	st.serve(brw.Reader)
}

// headerHas reports whether a comma-separated header holds token.
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// stream is one call channel. Its reader runs on the upgraded request's
// goroutine, each call on a goroutine of its own, and answers go out
// through the channel's Writer.
type stream struct {
	srv    *Server
	conn   net.Conn
	out    *callwire.Writer
	ctx    context.Context // ends with the channel
	cancel context.CancelFunc

	calls map[uint32]context.CancelFunc // guarded by srv.mu
	// running counts this channel's calls in progress. Add only on the
	// reader's goroutine, which is also the one that waits.
	running sync.WaitGroup
	// goingAway is set by goAway: the reader's end is the server's doing,
	// and the calls already read are answered, not cancelled.
	goingAway atomic.Bool
	lastRead  uint32 // id of the last call read; reader's goroutine only
}

func (s *Server) newStream(conn net.Conn) *stream {
	ctx, cancel := context.WithCancel(context.Background())
	st := &stream{srv: s, conn: conn, ctx: ctx, cancel: cancel, calls: map[uint32]context.CancelFunc{}}
	// A failed write ends the reader too.
	st.out = callwire.NewWriter(conn, func(error) { conn.Close() })
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		cancel()
		return nil
	}
	s.streams[st] = struct{}{}
	return st
}

// serve reads frames until the channel ends. When the API ended it, the
// calls still queued on it are cancelled: nobody is left to read their
// answers. When the server ends it (goAway), every call read so far is
// answered before the connection closes.
func (st *stream) serve(r *bufio.Reader) {
	defer st.close()
	for {
		h, err := callwire.ReadHeader(r)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				st.srv.log.Debug("call channel ended", "error", err)
			}
			return
		}
		switch h.Kind {
		case callwire.KindCall:
			prev := st.lastRead
			st.lastRead = h.ID
			if err := st.startCall(r, h); err != nil {
				st.lastRead = prev // not read whole: it never ran
				if !st.goingAway.Load() {
					st.srv.log.Warn("call channel: dropping the connection", "error", err)
				}
				return
			}
		case callwire.KindCancel:
			if _, err := r.Discard(h.Len); err != nil {
				return
			}
			st.srv.mu.Lock()
			cancel := st.calls[h.ID]
			st.srv.mu.Unlock()
			if cancel != nil {
				cancel()
			}
		default:
			st.srv.log.Warn("call channel: unexpected frame from the API; dropping the connection", "kind", string(h.Kind))
			return
		}
	}
}

// startCall reads a call's parameters into a worker frame and runs it on
// a goroutine of its own. An error means the stream is out of step.
func (st *stream) startCall(r *bufio.Reader, h callwire.Header) error {
	s := st.srv
	if int64(h.Len) > s.cfg.MaxBody {
		if _, err := r.Discard(h.Len); err != nil {
			return err
		}
		st.answer(h.ID, http.StatusRequestEntityTooLarge,
			errorBody(fmt.Sprintf("the parameters exceed %d bytes", s.cfg.MaxBody), nil))
		return nil
	}
	bp := s.bufs.Get().(*[]byte)
	need := worker.HeaderSize + h.Len
	frame := *bp
	if cap(frame) < need {
		frame = make([]byte, need)
	}
	frame = frame[:need]
	*bp = frame[:0]
	if _, err := io.ReadFull(r, frame[worker.HeaderSize:]); err != nil {
		s.putBuffer(bp)
		return err
	}
	ctx, cancel := context.WithCancel(st.ctx)
	s.mu.Lock()
	_, dup := st.calls[h.ID]
	busy := len(st.calls) >= maxStreamCalls
	if !dup && !busy {
		st.calls[h.ID] = cancel
		s.inFlight.Add(1)
	}
	s.mu.Unlock()
	switch {
	case dup:
		cancel()
		s.putBuffer(bp)
		return fmt.Errorf("call id %d is already in progress", h.ID)
	case busy:
		cancel()
		s.putBuffer(bp)
		st.answer(h.ID, http.StatusTooManyRequests, errorBody("too many calls in progress on this channel; retry shortly", nil))
		return nil
	}
	st.running.Add(1)
	go st.call(ctx, cancel, h.ID, bp, frame)
	return nil
}

func (st *stream) call(ctx context.Context, cancel context.CancelFunc, id uint32, bp *[]byte, frame []byte) {
	s := st.srv
	status, body := s.run(ctx, bp, frame)
	st.answer(id, status, body) // copies body
	s.putBuffer(bp)
	s.mu.Lock()
	delete(st.calls, id)
	s.mu.Unlock()
	cancel()
	s.inFlight.Add(-1)
	st.running.Done()
}

func (st *stream) answer(id uint32, status int, body []byte) {
	// An error means the channel is gone; nobody is left to tell.
	st.out.Append(func(b []byte) []byte { return callwire.AppendAnswer(b, id, status, body) })
}

// goAway starts closing the channel from the server's side: the reader
// stops, and serve's close tells the API and answers what was read.
func (st *stream) goAway() {
	st.goingAway.Store(true)
	st.conn.SetReadDeadline(time.Now()) // the reader returns at once
}

// close ends the channel once its reader has stopped.
func (st *stream) close() {
	if st.goingAway.Load() {
		// The reader has stopped, so lastRead is final: the API may send
		// every later call elsewhere now. Every call read gets its answer
		// out before the connection closes.
		last := st.lastRead
		st.out.Append(func(b []byte) []byte { return callwire.AppendGoAway(b, last) })
		st.running.Wait()
		st.out.Finish()
		st.cancel()
	} else {
		st.cancel()
		st.running.Wait() // cancelled calls end at once, or with their worker's deadline
		st.out.Close()
	}
	st.conn.Close()
	s := st.srv
	s.mu.Lock()
	delete(s.streams, st)
	s.mu.Unlock()
}
