package master

import (
	"crypto/subtle"
	"errors"
	"net/http"
)

// AuthenticationRealm is the Basic realm the Mesos master announces for
// HTTP framework authentication (src/master/constants.hpp).
const AuthenticationRealm = "mesos-master-scheduler"

// checkCredentials refuses credentials a Mesos credentials file could not
// hold: a principal is what frameworks are matched by, so it cannot be
// empty.
func checkCredentials(creds map[string]string) error {
	for p := range creds {
		if p == "" {
			return errors.New("credential with an empty principal")
		}
	}
	return nil
}

// authenticate applies HTTP framework authentication (Basic scheme) when
// credentials are configured. It returns the authenticated principal, ""
// when authentication is off, and ok=false when the request must be
// refused with 401.
func (m *Master) authenticate(r *http.Request) (principal string, ok bool) {
	if len(m.cfg.Credentials) == 0 {
		return "", true
	}
	p, secret, found := r.BasicAuth()
	if !found {
		return "", false
	}
	want, known := m.cfg.Credentials[p]
	if !known || subtle.ConstantTimeCompare([]byte(secret), []byte(want)) != 1 {
		return "", false
	}
	return p, true
}

// unauthorized answers like libprocess' Basic authenticator: 401 with the
// challenge naming the realm, so clients know to retry with credentials.
func unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Basic realm="`+AuthenticationRealm+`"`)
	http.Error(w, "Unauthorized: missing or invalid credentials", http.StatusUnauthorized)
}
