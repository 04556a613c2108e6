package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/fob-project/fob/state"
)

// handleCall runs a function: GET|POST /api/call/{id or name}. Parameters
// come from the query (seed form "a:1,b:2" or "a=1&b=2", string values) and
// from a JSON object body (typed values).
func (s *Server) handleCall(w http.ResponseWriter, r *http.Request) {
	ref := mux.Vars(r)["ref"]
	if rt, _ := s.routes.resolve(r.Context(), ref); rt == nil {
		writeError(w, http.StatusNotFound, "unknown function "+ref)
		return
	}
	query, err := parseQueryParams(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad parameters: "+err.Error())
		return
	}
	var raw []byte
	if r.Method == http.MethodPost {
		var ok bool
		if raw, ok = s.readBody(w, r, s.cfg.MaxCallBytes, "call body"); !ok {
			return
		}
	}
	body, err := callBody(query, raw)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad parameters: "+err.Error())
		return
	}
	rt, ep, status, msg := s.awaitEndpoint(r.Context(), ref)
	if ep == nil {
		writeError(w, status, msg)
		return
	}
	s.proxy.forward(w, r.Context(), rt, ep, body)
}

// awaitEndpoint finds a running instance of ref, waiting up to CallWait for
// one to start. Without one it returns the status and reason to answer.
func (s *Server) awaitEndpoint(ctx context.Context, ref string) (*route, *endpoint, int, string) {
	timer := time.NewTimer(s.cfg.CallWait)
	defer timer.Stop()
	for {
		rt, table := s.routes.lookup(ref)
		if rt == nil {
			return nil, nil, http.StatusNotFound, "unknown function " + ref
		}
		if ep := rt.pick(nil); ep != nil {
			return rt, ep, 0, ""
		}
		if failed(rt) {
			return rt, nil, http.StatusUnprocessableEntity, notRunningReason(rt)
		}
		select {
		case <-table.changed:
		case <-timer.C:
			return rt, nil, http.StatusServiceUnavailable,
				fmt.Sprintf("%s (waited %s for an instance)", notRunningReason(rt), s.cfg.CallWait)
		case <-ctx.Done():
			return rt, nil, http.StatusServiceUnavailable, "call cancelled while waiting for an instance"
		}
	}
}

// failed reports whether the current version of the function cannot run,
// such as when its code does not load.
func failed(rt *route) bool {
	return rt.status != nil && rt.status.Phase == state.PhaseFailed && rt.status.Version == rt.fn.Version
}

func notRunningReason(rt *route) string {
	switch {
	case failed(rt):
		return fmt.Sprintf("function %s failed to load: %s", rt.fn.ID, rt.status.LastError)
	case rt.status != nil && rt.status.Phase == state.PhaseCrashLooping:
		return fmt.Sprintf("function %s is crash-looping: %s", rt.fn.ID, rt.status.LastError)
	default:
		return fmt.Sprintf("function %s is still starting: no instance is running yet", rt.fn.ID)
	}
}
