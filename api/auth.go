package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/gorilla/mux"
)

// routeCode names GET /api/cs/{ref}, which executors call with their task's
// secret rather than the API token.
const routeCode = "code"

// secured reports whether the API needs a bearer token.
func (s *Server) secured() bool { return s.cfg.Token != "" }

// authenticate guards every /api/ route once a token is configured: the
// request must bear the API token, or, on GET /api/cs/{ref} only, the
// secret of a live task of that function. Without a token fob is open, as
// the seed was.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.secured() {
			next.ServeHTTP(w, r)
			return
		}
		token, ok := bearerToken(r.Header.Get("Authorization"))
		if !ok {
			unauthorized(w, "this API needs a bearer token: send \"Authorization: Bearer <token>\"")
			return
		}
		sum := sha256.Sum256([]byte(token))
		if subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) == 1 {
			next.ServeHTTP(w, r)
			return
		}
		if route := mux.CurrentRoute(r); route != nil && route.GetName() == routeCode && s.isTaskSecret(mux.Vars(r)["ref"], sum) {
			next.ServeHTTP(w, r)
			return
		}
		unauthorized(w, "invalid bearer token")
	})
}

// isTaskSecret reports whether sum is the SHA-256 of the secret of a task
// of ref that has not ended: a secret opens one function's code, and only
// while its task lives. An unknown function is just a wrong token, so that
// a caller without the token learns nothing about which functions exist.
func (s *Server) isTaskSecret(ref string, sum [sha256.Size]byte) bool {
	f, err := s.store.FunctionByRef(nil, ref)
	if err != nil {
		return false
	}
	tasks, err := s.store.TasksOf(nil, f.ID)
	if err != nil {
		return false
	}
	match := 0
	for _, t := range tasks {
		if t.Secret == "" || t.State.Terminal() {
			continue
		}
		want := sha256.Sum256([]byte(t.Secret))
		match |= subtle.ConstantTimeCompare(sum[:], want[:])
	}
	return match == 1
}

// bearerToken reads "Bearer <token>"; the scheme is case-insensitive.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="fob"`)
	writeError(w, http.StatusUnauthorized, msg)
}
