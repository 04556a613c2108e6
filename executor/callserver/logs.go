package callserver

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Bounds of GET /logs. fob's API applies the same ones to ?tail=.
const (
	DefaultTailLines = 100
	MaxTailLines     = 10000
	// MaxTailBytes bounds one answer whatever the line count.
	MaxTailBytes = 1 << 20
)

// Tailer reads the end of the function's log; *funclog.Log implements it.
type Tailer interface {
	Tail(lines, maxBytes int) ([]byte, error)
}

// ParseTail reads a ?tail= value: a line count, DefaultTailLines when empty.
func ParseTail(raw string) (int, error) {
	if raw == "" {
		return DefaultTailLines, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > MaxTailLines {
		return 0, fmt.Errorf("tail must be a number of lines between 1 and %d, got %q", MaxTailLines, raw)
	}
	return n, nil
}

// serveLogs answers GET /logs?tail=N with the last N lines of the function's
// log as text. Only a request bearing the task's secret is answered: fob's
// API knows it, the function's callers do not.
func (s *Server) serveLogs(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		s.writeError(w, http.StatusMethodNotAllowed, "use GET")
		return
	}
	if s.cfg.Logs == nil || s.cfg.Secret == "" {
		s.writeError(w, http.StatusNotFound, "this instance serves no logs")
		return
	}
	if !bearerMatches(r.Header.Get("Authorization"), s.secretSum) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fob-executor"`)
		s.writeError(w, http.StatusUnauthorized, "the logs need the task's secret as a bearer token")
		return
	}
	lines, err := ParseTail(r.URL.Query().Get("tail"))
	if err != nil {
		s.writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	b, err := s.cfg.Logs.Tail(lines, MaxTailBytes)
	if err != nil {
		s.log.Warn("read function log", "error", err)
		s.writeError(w, http.StatusInternalServerError, "read the function's log: "+err.Error())
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		w.Write(b)
	}
}

// bearerMatches compares the header's bearer token with a SHA-256 sum in
// constant time; hashing first also hides the secret's length.
func bearerMatches(header string, want [sha256.Size]byte) bool {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}
