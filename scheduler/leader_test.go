package scheduler

import (
	"errors"
	"net/http"
	"testing"
)

// TestLeaderFollowsRedirects checks that calls meant for the configured
// master go to the leader the last 307 named, and that a failure or a 503
// sends them back to the configured address.
func TestLeaderFollowsRedirects(t *testing.T) {
	type answer struct {
		status   int
		location string
		err      error
	}
	var (
		sentTo []string
		next   answer
	)
	do := func(req *http.Request) (*http.Response, error) {
		sentTo = append(sentTo, req.URL.Host)
		if req.Host != "" && req.Host != req.URL.Host {
			t.Errorf("Host header %q differs from the URL's host %q", req.Host, req.URL.Host)
		}
		if next.err != nil {
			return nil, next.err
		}
		h := http.Header{}
		if next.location != "" {
			h.Set("Location", next.location)
		}
		return &http.Response{StatusCode: next.status, Header: h}, nil
	}
	l := newLeader("http://standby:5050")
	wrapped := l.wrap(do)
	call := func(url string, a answer) {
		t.Helper()
		next = a
		req, err := http.NewRequest(http.MethodPost, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		wrapped(req)
	}
	const configured = "http://standby:5050/api/v1/scheduler"
	steps := []struct {
		name   string
		url    string
		answer answer
		want   string // host the request went to
	}{
		{"first call goes where configured", configured, answer{status: 307, location: "//leader:5050/api/v1/scheduler"}, "standby:5050"},
		{"mesos-go's own retry at the leader passes", "http://leader:5050/api/v1/scheduler", answer{status: 200}, "leader:5050"},
		{"later calls go to the leader", configured, answer{status: 202}, "leader:5050"},
		{"a redirect from the leader moves it", configured, answer{status: 307, location: "//other:5050/api/v1/scheduler"}, "leader:5050"},
		{"calls follow it; this one answers 503", configured, answer{status: 503}, "other:5050"},
		{"after the 503 calls go where configured", configured, answer{status: 307, location: "//standby:5050/api/v1/scheduler"}, "standby:5050"},
		{"a redirect back to the configured master names no leader", configured, answer{status: 307, location: "//leader:5050/api/v1/scheduler"}, "standby:5050"},
		{"calls go to the leader again", configured, answer{err: errors.New("connection refused")}, "leader:5050"},
		{"a failed request forgot the leader", configured, answer{status: 202}, "standby:5050"},
	}
	for _, s := range steps {
		call(s.url, s.answer)
		if got := sentTo[len(sentTo)-1]; got != s.want {
			t.Fatalf("%s: sent to %s, want %s", s.name, got, s.want)
		}
	}
}
