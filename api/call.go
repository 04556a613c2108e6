package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/fob-project/fob/state"
)

// handleCall runs a function: GET|POST /api/call/{id or name}. Parameters
// come from the query (seed form "a:1,b:2" or "a=1&b=2", string values) and
// from a JSON object body (typed values).
func (s *Server) handleCall(w http.ResponseWriter, r *http.Request) {
	s.serveCall(w, r, mux.Vars(r)["ref"])
}

// callPrefix is the path of the call route up to {ref}.
const callPrefix = "/api/call/"

// withCallFastPath sends GET and POST /api/call/{ref} — nearly all of the
// API's traffic — straight to the call handler, behind the same
// authentication, and everything else to router. It takes only the paths
// router would route to handleCall unchanged (no further slash, nothing
// for its path cleaning to redirect), so the answers are the same, minus
// the router's regular-expression matching and the request copy that
// carries its variables, a measurable share of a call's time.
func (s *Server) withCallFastPath(router http.Handler) http.Handler {
	call := s.authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.serveCall(w, r, r.URL.Path[len(callPrefix):])
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fastCallRef(r) {
			call.ServeHTTP(w, r)
			return
		}
		router.ServeHTTP(w, r)
	})
}

// fastCallRef reports whether r is a call the fast path may serve.
func fastCallRef(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		return false
	}
	ref, ok := strings.CutPrefix(r.URL.Path, callPrefix)
	return ok && ref != "" && ref != "." && ref != ".." && !strings.Contains(ref, "/")
}

func (s *Server) serveCall(w http.ResponseWriter, r *http.Request, ref string) {
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
	rt, ep, status, msg := s.awaitEndpoint(r.Context(), ref, nil)
	if ep == nil {
		writeError(w, status, msg)
		return
	}
	// An instance that refuses the call is shutting down; during a rollout
	// its successor may run before the route index shows it, so the call
	// waits for it as for a starting function.
	s.proxy.forward(w, r.Context(), rt, ep, body, func(ctx context.Context, skip *endpoint) *endpoint {
		_, other, _, _ := s.awaitEndpoint(ctx, ref, skip)
		return other
	})
}

// awaitEndpoint finds a running instance of ref other than skip, waiting up
// to CallWait for one to start. Without one it returns the status and
// reason to answer.
func (s *Server) awaitEndpoint(ctx context.Context, ref string, skip *endpoint) (*route, *endpoint, int, string) {
	var timeout <-chan time.Time // made only when the call has to wait
	for {
		rt, table := s.routes.lookup(ref)
		if rt == nil {
			return nil, nil, http.StatusNotFound, "unknown function " + ref
		}
		if ep := rt.pick(skip); ep != nil {
			return rt, ep, 0, ""
		}
		if failed(rt) {
			return rt, nil, http.StatusUnprocessableEntity, notRunningReason(rt)
		}
		if timeout == nil {
			timer := time.NewTimer(s.cfg.CallWait)
			defer timer.Stop()
			timeout = timer.C
		}
		select {
		case <-table.changed:
		case <-timeout:
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
