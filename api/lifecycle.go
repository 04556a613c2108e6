package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/fob-project/fob/state"
)

// handleDelete removes a function: DELETE /api/functions/{ref}. Calls 404
// from then on; the scheduler sees the function gone and kills its tasks.
func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	ref := mux.Vars(r)["ref"]
	f, ok := s.lookupFunction(w, ref)
	if !ok {
		return
	}
	if err := s.store.DeleteFunction(f.ID); err != nil {
		writeError(w, http.StatusInternalServerError, "delete function: "+err.Error())
		return
	}
	s.routes.awaitIndex(unindexed(f.ID))
	s.log.Info("function deleted", "function_id", f.ID)
	writeJSON(w, http.StatusOK, map[string]string{"id": f.ID, "deleted": "true"})
}

// handleUpdate rolls out new code or limits: PUT /api/functions/{ref} with
// the same body and keys as registration. The version grows by one; the
// scheduler starts the new version before it stops the old one, and calls
// keep going to the old version until the new one runs.
func (s *Server) handleUpdate(w http.ResponseWriter, r *http.Request) {
	ref := mux.Vars(r)["ref"]
	old, ok := s.lookupFunction(w, ref)
	if !ok {
		return
	}
	body, ok := s.readBody(w, r, s.cfg.MaxCodeBytes, "code")
	if !ok {
		return
	}
	reg, err := parseRegistration(r, body, old.Limits, old.Instances)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if r.URL.Query().Get("lang") == "" && !isJSON(r.Header.Get("Content-Type")) {
		reg.lang = old.Language
	}
	f := old.Copy()
	f.Language, f.Code, f.Digest = reg.lang, reg.code, digest(reg.code)
	if reg.name != "" {
		f.Name = reg.name
	}
	f.Limits, f.Instances = reg.limits, reg.instances
	f.Version = old.Version + 1
	f.UpdatedAt = time.Now().UTC()
	if !s.putFunction(w, f) {
		return
	}
	s.log.Info("function updated", "function_id", f.ID, "version", f.Version)
	if reg.wait {
		s.waitReady(w, r, f.ID, f.Version, http.StatusOK)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": f.ID, "version": f.Version})
}

// lookupFunction resolves ref, answering 404 or 500 itself when it cannot.
func (s *Server) lookupFunction(w http.ResponseWriter, ref string) (*state.Function, bool) {
	f, err := s.store.FunctionByRef(nil, ref)
	if errors.Is(err, state.ErrNotFound) {
		writeError(w, http.StatusNotFound, "unknown function "+ref)
		return nil, false
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return nil, false
	}
	return f, true
}
