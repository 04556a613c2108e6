package callserver

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fob-project/fob/callwire"
	"github.com/fob-project/fob/executor/worker"
)

// DefaultMaxBody bounds a call's parameters. It is above the API's own
// 6 MiB limit on a call body because the API adds the query's parameters
// (bounded by the header limit) to the body it forwards.
const DefaultMaxBody = 7 << 20

// MaxHeaderBytes bounds a request's header; only fob's API talks to the
// call server and its headers are small.
const MaxHeaderBytes = 64 << 10

// Caller runs one call on a worker; *worker.Pool implements it.
type Caller interface {
	Call(ctx context.Context, frame []byte) (kind byte, payload []byte, err error)
}

// Config configures a Server.
type Config struct {
	// CallTimeout is the per-call deadline the pool enforces; the server
	// only names it in the 504 message.
	CallTimeout time.Duration
	// MaxBody bounds a request body; 0 means DefaultMaxBody.
	MaxBody int64
	// Secret is the task's secret. GET /logs answers only requests that
	// bear it; empty turns GET /logs off.
	Secret string
	// Logs serves GET /logs; nil turns it off.
	Logs Tailer
}

// Server is the executor's HTTP face: POST /call, GET /logs and
// GET /healthz.
type Server struct {
	cfg       Config
	pool      Caller
	log       *slog.Logger
	ready     atomic.Bool
	bufs      sync.Pool // *[]byte: request frames, then response bodies
	msg504    atomic.Pointer[[]byte]
	secretSum [sha256.Size]byte

	// The call channels (stream.go): http.Server forgets a connection
	// once it is upgraded, so the server tracks them to drain and close.
	mu       sync.Mutex
	closed   bool
	streams  map[*stream]struct{}
	inFlight atomic.Int64 // calls in progress on the channels
}

// New returns a server that is not ready yet; call SetReady once the
// function has loaded.
func New(cfg Config, pool Caller, log *slog.Logger) *Server {
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.CallTimeout <= 0 {
		cfg.CallTimeout = worker.DefaultCallTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, pool: pool, log: log, secretSum: sha256.Sum256([]byte(cfg.Secret)),
		streams: map[*stream]struct{}{}}
	s.bufs.New = func() any { b := make([]byte, 0, 4<<10); return &b }
	s.SetCallTimeout(cfg.CallTimeout)
	return s
}

// SetCallTimeout changes the deadline the 504 answer names: a stem of the
// warm pool learns its function's when it is specialised.
func (s *Server) SetCallTimeout(d time.Duration) {
	msg := errorBody(fmt.Sprintf("call exceeded the %s deadline", d), nil)
	s.msg504.Store(&msg)
}

// HTTPServer wraps s in an http.Server with the bounds every request gets:
// header size and read timeouts (bodies are bounded by MaxBody).
func (s *Server) HTTPServer(errorLog *log.Logger) *http.Server {
	return &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    MaxHeaderBytes,
		// The API keeps connections open in its pool; reclaim forgotten ones.
		IdleTimeout: 5 * time.Minute,
		ErrorLog:    errorLog,
	}
}

// SetReady opens (true) or closes (false) the server to calls. A server
// that is not ready answers 503, so a draining instance refuses new calls
// while the ones in progress finish.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// Ready reports whether calls are accepted.
func (s *Server) Ready() bool { return s.ready.Load() }

// Drain waits until no call is in progress on a call channel, or ctx is
// done. Call it after SetReady(false), beside http.Server.Shutdown, which
// does not see upgraded connections.
func (s *Server) Drain(ctx context.Context) {
	// Polled: draining happens once per instance, and a counter is all the
	// call path should pay for it.
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for s.inFlight.Load() > 0 {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
	}
}

// Close closes every call channel and refuses new ones. Each channel
// tells the API it is going away, stops reading and answers the calls it
// has read (503 once the server is not ready) before its connection
// closes, so the API can send the calls it never read elsewhere. Close
// does not wait for that.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	streams := make([]*stream, 0, len(s.streams))
	for st := range s.streams {
		streams = append(streams, st)
	}
	s.mu.Unlock()
	for _, st := range streams {
		st.goAway()
	}
}

// ServeHTTP routes the endpoints. There is deliberately no mux: three
// fixed paths do not need one on the hot path.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/call":
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			s.writeError(w, http.StatusMethodNotAllowed, "use POST with a JSON object of parameters")
			return
		}
		s.serveCall(w, r)
	case callwire.Path:
		s.serveUpgrade(w, r)
	case "/logs":
		s.serveLogs(w, r)
	case "/healthz":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			s.writeError(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		if !s.Ready() {
			s.writeError(w, http.StatusServiceUnavailable, "not ready")
			return
		}
		writeJSON(w, http.StatusOK, []byte(`{"status":"ok"}`))
	default:
		s.writeError(w, http.StatusNotFound, "no such endpoint; use POST /call")
	}
}

func (s *Server) serveCall(w http.ResponseWriter, r *http.Request) {
	if !s.Ready() {
		s.writeError(w, http.StatusServiceUnavailable, "the function is not ready")
		return
	}
	bp := s.bufs.Get().(*[]byte)
	defer s.putBuffer(bp)

	// Read the parameters straight into the frame that carries them to the
	// worker: no decoding, no copy.
	frame, err := readBody((*bp)[:worker.HeaderSize], r.Body, s.cfg.MaxBody)
	*bp = frame[:0]
	if err != nil {
		if errors.Is(err, errTooLarge) {
			s.writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the parameters exceed %d bytes", s.cfg.MaxBody))
			return
		}
		s.writeError(w, http.StatusBadRequest, "read parameters: "+err.Error())
		return
	}
	status, body := s.run(r.Context(), bp, frame)
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, body)
}

// run makes one call whose parameters are frame[worker.HeaderSize:] (the
// header is room for the worker frame's) and returns the status and JSON
// body to answer. frame and the body may live in *bp, which the caller
// returns to the pool once the body is written.
func (s *Server) run(ctx context.Context, bp *[]byte, frame []byte) (int, []byte) {
	if !s.Ready() {
		return http.StatusServiceUnavailable, errorBody("the function is not ready", nil)
	}
	if len(frame) == worker.HeaderSize {
		frame = append(frame, "{}"...) // no body: a call without parameters
		*bp = frame[:0]
	} else if err := checkObject(frame[worker.HeaderSize:]); err != nil {
		return http.StatusBadRequest, errorBody(err.Error(), nil)
	}
	worker.SealFrame(frame, worker.KindCall)

	kind, payload, err := s.pool.Call(ctx, frame)
	if err != nil {
		return s.callError(ctx, err)
	}
	switch kind {
	case worker.KindResult:
		// Splice the worker's JSON as it is; the buffer is free again now
		// that the request has been written to the pipe.
		body := append(frame[:0], `{"result":`...)
		body = append(body, payload...)
		body = append(body, '}')
		*bp = body[:0]
		return http.StatusOK, body
	case worker.KindRaised:
		exc := worker.ParseException(payload)
		return http.StatusInternalServerError, errorBody(exc.String(), &exc)
	default: // worker.KindBadParams; the pool returns no other kind
		exc := worker.ParseException(payload)
		return http.StatusBadRequest, errorBody("the parameters do not match callme: "+exc.Message, nil)
	}
}

// putBuffer recycles a request buffer unless one large call grew it: the
// pool should not pin megabytes for the calls that follow.
func (s *Server) putBuffer(bp *[]byte) {
	if cap(*bp) <= maxPooledBuffer {
		s.bufs.Put(bp)
	}
}

const maxPooledBuffer = 256 << 10

// callError is the answer to a call the pool could not complete.
func (s *Server) callError(ctx context.Context, err error) (int, []byte) {
	var mle *worker.MemoryLimitError
	switch {
	case errors.As(err, &mle):
		// The function's own doing, like an exception: 500, with a type a
		// client can tell from the exceptions the code raises.
		s.log.Warn("worker killed for exceeding the memory limit", "limit_mb", mle.LimitMB)
		exc := worker.Exception{Type: MemoryLimitExceeded, Message: mle.Error() + "; the worker is being replaced"}
		return http.StatusInternalServerError, errorBody(exc.String(), &exc)
	case errors.Is(err, worker.ErrDeadline):
		return http.StatusGatewayTimeout, *s.msg504.Load()
	case errors.Is(err, worker.ErrBusy):
		return http.StatusTooManyRequests, errorBody("every worker is busy and the queue is full; retry shortly", nil)
	case errors.Is(err, worker.ErrClosed):
		return http.StatusServiceUnavailable, errorBody("the function instance is shutting down", nil)
	case errors.Is(err, worker.ErrNotLoaded):
		return http.StatusServiceUnavailable, errorBody("the function is not ready", nil)
	case errors.Is(err, worker.ErrWorkerLost):
		s.log.Warn("worker lost during a call", "error", err)
		return http.StatusBadGateway, errorBody(err.Error(), nil)
	case ctx.Err() != nil:
		// The caller went away while queued; nobody reads this answer.
		return http.StatusServiceUnavailable, errorBody("the call was cancelled", nil)
	default:
		s.log.Error("call failed", "error", err)
		return http.StatusBadGateway, errorBody(err.Error(), nil)
	}
}

func (s *Server) writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody(msg, nil))
}

// errorResponse is every non-200 body: {"error": …}, plus the exception
// when the function raised.
type errorResponse struct {
	Error     string            `json:"error"`
	Exception *worker.Exception `json:"exception,omitempty"`
}

func errorBody(msg string, exc *worker.Exception) []byte {
	b, err := json.Marshal(errorResponse{Error: msg, Exception: exc})
	if err != nil {
		// Marshalling strings cannot fail; keep a valid body regardless.
		return []byte(`{"error":"internal error"}`)
	}
	return b
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = []string{"application/json"}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	w.Write(body)
}

// MemoryLimitExceeded is the exception type of a call whose worker the
// kernel killed for exceeding the function's memory limit.
const MemoryLimitExceeded = "MemoryLimitExceeded"

var errTooLarge = errors.New("body too large")

// readBody appends all of r to buf, refusing more than max bytes.
func readBody(buf []byte, r io.Reader, max int64) ([]byte, error) {
	start := len(buf)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)-start) > max {
			return buf, errTooLarge
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}
