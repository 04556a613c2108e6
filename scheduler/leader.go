package scheduler

import (
	"net/http"
	"net/url"
	"sync"

	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
)

// leader remembers which master leads, so that every call goes there.
//
// A Mesos master that does not lead answers 307 with the leader's address.
// mesos-go v0.0.11 follows that redirect only for the SUBSCRIBE that got
// it: later calls still go to the configured URL. When that URL names a
// standby, each call is redirected again, mesos-go turns the redirect into
// a lost subscription, and fob would subscribe, fail its first call,
// subscribe again, forever. So requests aimed at the configured master go
// to the last leader a redirect named, and every redirect updates it. A
// failed request or a 503 (no leader elected) forgets it: the configured
// address, often a name that resolves to every master, is asked afresh.
type leader struct {
	configured string // host:port of Config.MasterURL

	mu   sync.Mutex
	host string // host:port of the leader; "" for the configured address
}

func newLeader(masterURL string) *leader {
	u, err := url.Parse(masterURL)
	if err != nil {
		return &leader{}
	}
	return &leader{configured: u.Host}
}

func (l *leader) current() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.host
}

func (l *leader) set(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if host == l.configured {
		host = ""
	}
	l.host = host
}

// forget drops the leader if it is still host.
func (l *leader) forget(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.host == host {
		l.host = ""
	}
}

// wrap returns a DoFunc that sends requests for the configured master to
// the leader and learns the leader from the answers.
func (l *leader) wrap(do httpcli.DoFunc) httpcli.DoFunc {
	return func(req *http.Request) (*http.Response, error) {
		if h := l.current(); h != "" && req.URL.Host == l.configured {
			req = req.Clone(req.Context())
			req.URL.Host, req.Host = h, h
		}
		host := req.URL.Host
		resp, err := do(req)
		switch {
		case err != nil:
			l.forget(host)
		case resp.StatusCode == http.StatusTemporaryRedirect:
			if loc, perr := url.Parse(resp.Header.Get("Location")); perr == nil && loc.Host != "" {
				l.set(loc.Host)
			}
		case resp.StatusCode == http.StatusServiceUnavailable:
			l.forget(host)
		}
		return resp, err
	}
}
