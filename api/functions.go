package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	memdb "github.com/hashicorp/go-memdb"

	"github.com/fob-project/fob/sandbox"
	"github.com/fob-project/fob/state"
)

const defaultLanguage = "python"

// handleGen registers a function: POST /api/gen?lang=python with the code
// as the body. It answers as soon as the function is durably stored; with
// ?wait=true it waits until the function runs or fails to load.
func (s *Server) handleGen(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	lang := q.Get("lang")
	if lang == "" {
		lang = defaultLanguage
	}
	if _, ok := sandbox.Lookup(lang); !ok {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown language %q (known: %s)", lang, strings.Join(sandbox.Names(), ", ")))
		return
	}
	code, ok := s.readBody(w, r, s.cfg.MaxCodeBytes, "code")
	if !ok {
		return
	}
	if len(strings.TrimSpace(string(code))) == 0 {
		writeError(w, http.StatusBadRequest, "empty body: send the function's code as the request body")
		return
	}
	name := q.Get("name")
	if name != "" && !validFunctionName(name) {
		writeError(w, http.StatusBadRequest, "name must be 1-64 characters of letters, digits, '-', '_' or '.', not starting with a digit-only id shape")
		return
	}
	now := time.Now().UTC()
	sum := sha256.Sum256(code)
	f := &state.Function{
		ID:        uuid.NewString(),
		Name:      name,
		Language:  lang,
		Code:      code,
		Digest:    hex.EncodeToString(sum[:]),
		Version:   1,
		Limits:    s.cfg.DefaultLimits,
		Instances: 1,
		CreatedAt: now,
		UpdatedAt: now,
	}
	if err := s.store.PutFunction(f); err != nil {
		if errors.Is(err, state.ErrNameTaken) {
			writeError(w, http.StatusConflict, fmt.Sprintf("name %q is already used by another function", name))
			return
		}
		s.log.Error("store function", "function_id", f.ID, "err", err)
		writeError(w, http.StatusInternalServerError, "could not store the function: "+err.Error())
		return
	}
	s.log.Info("function registered", "function_id", f.ID, "language", lang, "bytes", len(code))
	if q.Get("wait") == "true" {
		s.waitReady(w, r, f.ID)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": f.ID})
}

// waitReady answers a registration once the function runs or has failed.
func (s *Server) waitReady(w http.ResponseWriter, r *http.Request, id string) {
	deadline := time.NewTimer(s.cfg.RegisterWait)
	defer deadline.Stop()
	for {
		rt, table := s.routes.lookup(id)
		switch {
		case rt == nil:
			// Not yet indexed: the route table follows the store shortly.
		case len(rt.endpoints) > 0:
			writeJSON(w, http.StatusCreated, map[string]string{"id": id, "state": string(state.PhaseRunning)})
			return
		case rt.status != nil && rt.status.Phase == state.PhaseFailed:
			writeJSON(w, http.StatusCreated, map[string]string{"id": id, "state": string(state.PhaseFailed), "error": rt.status.LastError})
			return
		}
		select {
		case <-table.changed:
		case <-deadline.C:
			writeJSON(w, http.StatusAccepted, map[string]string{"id": id, "state": string(state.PhasePending)})
			return
		case <-r.Context().Done():
			return
		}
	}
}

// readBody reads at most limit bytes, answering 413 beyond it.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, limit int64, what string) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%s is larger than the %d-byte limit", what, limit))
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "read body: "+err.Error())
		return nil, false
	}
	return body, true
}

func validFunctionName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		switch {
		case c == '-', c == '_', c == '.', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		default:
			return false
		}
	}
	// A name shaped like an id would make lookups ambiguous.
	return uuid.Validate(s) != nil
}

// handleStats lists functions in the seed's shape: {"functions": [ids]}.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	t := s.routes.table.Load()
	ids := make([]string, 0, len(t.byID))
	running := 0
	for id, rt := range t.byID {
		ids = append(ids, id)
		if len(rt.endpoints) > 0 {
			running++
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"functions": ids, "count": len(ids), "running": running})
}

// handleMeta answers where a running instance of the function is.
func (s *Server) handleMeta(w http.ResponseWriter, r *http.Request) {
	ref := mux.Vars(r)["ref"]
	rt, _ := s.routes.lookup(ref)
	if rt == nil {
		writeError(w, http.StatusNotFound, "unknown function "+ref)
		return
	}
	ep := rt.pick()
	if ep == nil {
		writeError(w, http.StatusServiceUnavailable, notRunningReason(rt))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"host": ep.host, "port": ep.port, "task_id": ep.taskID, "agent_id": ep.agentID})
}

// handleCode serves a function's code as text.
func (s *Server) handleCode(w http.ResponseWriter, r *http.Request) {
	ref := mux.Vars(r)["ref"]
	f, err := s.store.FunctionByRef(nil, ref)
	if errors.Is(err, state.ErrNotFound) {
		writeError(w, http.StatusNotFound, "unknown function "+ref)
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Fob-Digest", f.Digest)
	w.Write(f.Code)
}

// functionView is what GET /api/functions/{id} shows.
type functionView struct {
	ID        string         `json:"id"`
	Name      string         `json:"name,omitempty"`
	Language  string         `json:"language"`
	Version   uint64         `json:"version"`
	State     state.Phase    `json:"state"`
	LastError string         `json:"last_error,omitempty"`
	Limits    limitsView     `json:"limits"`
	Instances []instanceView `json:"instances"`
	CreatedAt time.Time      `json:"created_at"`
}

type limitsView struct {
	MemoryMB    int     `json:"memory"`
	CPUs        float64 `json:"cpus"`
	Timeout     float64 `json:"timeout"`
	Concurrency int     `json:"concurrency"`
	Instances   int     `json:"instances"`
}

type instanceView struct {
	TaskID  string          `json:"task_id"`
	Version uint64          `json:"version"`
	State   state.TaskState `json:"state"`
	AgentID string          `json:"agent_id,omitempty"`
	Host    string          `json:"host,omitempty"`
	Port    uint32          `json:"port,omitempty"`
	Message string          `json:"message,omitempty"`
}

func (s *Server) view(ws memdb.WatchSet, f *state.Function) (functionView, error) {
	v := functionView{
		ID: f.ID, Name: f.Name, Language: f.Language, Version: f.Version, State: state.PhasePending,
		Limits: limitsView{
			MemoryMB: f.Limits.MemoryMB, CPUs: f.Limits.CPUs, Timeout: f.Limits.Timeout.Seconds(),
			Concurrency: f.Limits.Concurrency, Instances: f.Instances,
		},
		Instances: []instanceView{},
		CreatedAt: f.CreatedAt,
	}
	st, err := s.store.Status(ws, f.ID)
	switch {
	case err == nil:
		v.State, v.LastError = st.Phase, st.LastError
	case !errors.Is(err, state.ErrNotFound):
		return v, err
	}
	tasks, err := s.store.TasksOf(ws, f.ID)
	if err != nil {
		return v, err
	}
	for _, t := range tasks {
		v.Instances = append(v.Instances, instanceView{
			TaskID: t.ID, Version: t.Version, State: t.State, AgentID: t.AgentID, Host: t.Host, Port: t.Port, Message: t.Message,
		})
	}
	return v, nil
}

func (s *Server) handleDescribe(w http.ResponseWriter, r *http.Request) {
	ref := mux.Vars(r)["ref"]
	f, err := s.store.FunctionByRef(nil, ref)
	if errors.Is(err, state.ErrNotFound) {
		writeError(w, http.StatusNotFound, "unknown function "+ref)
		return
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	v, err := s.view(nil, f)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) handleList(w http.ResponseWriter, r *http.Request) {
	fns, err := s.store.Functions(nil)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := make([]functionView, 0, len(fns))
	for _, f := range fns {
		v, err := s.view(nil, f)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		v.Instances = nil
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"functions": out})
}
