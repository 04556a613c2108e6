package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"
	memdb "github.com/hashicorp/go-memdb"

	"github.com/fob-project/fob/state"
)

// defaultLanguage is the seed's: registrations without ?lang= are Python.
const defaultLanguage = "python"

// handleGen registers a function: POST /api/gen?lang=python with the code
// as the body (or a JSON body with the code and limits). It answers as soon
// as the function is durably stored; with ?wait=true it waits until the
// function runs or fails to load.
func (s *Server) handleGen(w http.ResponseWriter, r *http.Request) {
	body, ok := s.readBody(w, r, s.cfg.MaxCodeBytes, "code")
	if !ok {
		return
	}
	reg, err := parseRegistration(r, body, s.cfg.DefaultLimits, 1)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := time.Now().UTC()
	f := &state.Function{
		ID:        uuid.NewString(),
		Name:      reg.name,
		Language:  reg.lang,
		Code:      reg.code,
		Digest:    digest(reg.code),
		Version:   1,
		Limits:    reg.limits,
		Instances: reg.instances,
		CreatedAt: now,
		UpdatedAt: now,
	}
	if !s.putFunction(w, f) {
		return
	}
	s.log.Info("function registered", "function_id", f.ID, "language", f.Language, "bytes", len(f.Code))
	if reg.wait {
		s.waitReady(w, r, f.ID, f.Version, http.StatusCreated)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": f.ID})
}

// putFunction stores f, answering the error itself when it cannot.
func (s *Server) putFunction(w http.ResponseWriter, f *state.Function) bool {
	err := s.store.PutFunction(f)
	if err == nil {
		s.routes.awaitIndex(indexed(f.ID, f.Version))
		return true
	}
	if errors.Is(err, state.ErrNameTaken) {
		writeError(w, http.StatusConflict, fmt.Sprintf("name %q is already used by another function", f.Name))
		return false
	}
	s.log.Error("store function", "function_id", f.ID, "err", err)
	writeError(w, http.StatusInternalServerError, "could not store the function: "+err.Error())
	return false
}

func digest(code []byte) string {
	sum := sha256.Sum256(code)
	return hex.EncodeToString(sum[:])
}

// waitReady answers a registration once the function runs or has failed.
func (s *Server) waitReady(w http.ResponseWriter, r *http.Request, id string, version uint64, status int) {
	deadline := time.NewTimer(s.cfg.RegisterWait)
	defer deadline.Stop()
	for {
		rt, table := s.routes.lookup(id)
		switch {
		case rt == nil:
			// Not yet indexed: the route table follows the store shortly.
		case rt.runningVersion(version):
			writeJSON(w, status, map[string]any{"id": id, "version": version, "state": string(state.PhaseRunning)})
			return
		case failed(rt):
			writeJSON(w, status, map[string]any{"id": id, "version": version, "state": string(state.PhaseFailed), "error": rt.status.LastError})
			return
		}
		select {
		case <-table.changed:
		case <-deadline.C:
			writeJSON(w, http.StatusAccepted, map[string]any{"id": id, "version": version, "state": string(state.PhasePending)})
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

// validFunctionName accepts short names that cannot be mistaken for ids.
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
	ids := []string{}
	running := 0
	t.each(func(id string, rt *route) {
		ids = append(ids, id)
		if len(rt.endpoints) > 0 {
			running++
		}
	})
	writeJSON(w, http.StatusOK, map[string]any{"functions": ids, "count": len(ids), "running": running})
}

// handleMeta answers where a running instance of the function is.
func (s *Server) handleMeta(w http.ResponseWriter, r *http.Request) {
	ref := mux.Vars(r)["ref"]
	rt, _ := s.routes.resolve(r.Context(), ref)
	if rt == nil {
		writeError(w, http.StatusNotFound, "unknown function "+ref)
		return
	}
	ep := rt.pick(nil)
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
