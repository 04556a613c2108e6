package master

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/apierrors"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

var testCredentials = map[string]string{"fob": "s3cret", "other": "pass2"}

func withCredentials(c *Config) { c.Credentials = testCredentials }

// authCaller is newCaller with Basic credentials; redirects (and so SUBSCRIBE
// retries) are off so a refused SUBSCRIBE surfaces at once.
func (h *harness) authCaller(mediaType, principal, secret string) calls.Caller {
	cli := httpcli.New(
		httpcli.Endpoint(h.url),
		httpcli.Codec(codecs.ByMediaType[codecsMediaType(mediaType)]),
		httpcli.Do(httpcli.With(httpcli.Timeout(waitTimeout), httpcli.BasicAuth(principal, secret))),
	)
	return httpsched.NewCaller(cli, httpsched.MaxRedirects(0), httpsched.AllowReconnection(true))
}

// authPost is rawPost with optional Basic credentials (none when
// principal is empty). The body is read only for answers other than 200:
// a 200 to SUBSCRIBE is an endless stream, closed unread.
func (h *harness) authPost(principal, secret, contentType, streamID string, body []byte) (int, http.Header, string) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if streamID != "" {
		req.Header.Set("Mesos-Stream-Id", streamID)
	}
	if principal != "" {
		req.SetBasicAuth(principal, secret)
	}
	resp, err := rawClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, resp.Header, ""
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// streamIDOf returns the Mesos-Stream-Id of a framework's subscription.
func (h *harness) streamIDOf(fid string) string {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	if fw := h.m.frameworks[fid]; fw != nil && fw.stream != nil {
		return fw.stream.id
	}
	return ""
}

func (h *harness) principalOf(fid string) string {
	h.m.mu.Lock()
	defer h.m.mu.Unlock()
	if fw := h.m.frameworks[fid]; fw != nil {
		return fw.info.GetPrincipal()
	}
	return "<no framework>"
}

// Conformance: 105, 106
func TestFrameworkAuthenticationWithMesosGo(t *testing.T) {
	for _, mt := range codecsUnderTest {
		t.Run(mt, func(t *testing.T) {
			h := newHarness(t, withCredentials)
			// No principal in FrameworkInfo: the authenticated one is recorded.
			s := h.subscribeWith(h.authCaller(mt, "fob", "s3cret"), frameworkInfo())
			ev := s.next(scheduler.Event_SUBSCRIBED)
			s.id = ev.Subscribed.FrameworkID.Value
			if got := h.principalOf(s.id); got != "fob" {
				t.Fatalf("principal %q, want the authenticated %q", got, "fob")
			}
			// Calls carry the credentials too.
			s.mustCall(calls.Revive())

			// A principal equal to the authenticated one is fine.
			info := frameworkInfo()
			info.Principal = ptr("other")
			o := h.subscribeWith(h.authCaller(mt, "other", "pass2"), info)
			ev = o.next(scheduler.Event_SUBSCRIBED)
			o.id = ev.Subscribed.FrameworkID.Value
			o.mustCall(calls.Suppress())
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		h := newHarness(t, withCredentials)
		caller := h.authCaller(mediaJSON, "fob", "wrong")
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		resp, err := caller.Call(ctx, calls.Subscribe(frameworkInfo()))
		if resp != nil {
			resp.Close()
		}
		if !apierrors.CodeNotAuthenticated.Matches(err) {
			t.Fatalf("subscribe error %v, want a 401 (not authenticated) error", err)
		}
	})
}

// Conformance: 105, 106
func TestFrameworkAuthenticationRefusals(t *testing.T) {
	h := newHarness(t, withCredentials)
	info := frameworkInfo()
	info.Principal = ptr("fob")
	subscribe := encodeCall(t, mediaJSON, calls.Subscribe(info))

	// A subscription to aim calls at, made with valid credentials.
	s := h.subscribeWith(h.authCaller(mediaJSON, "fob", "s3cret"), frameworkInfo())
	s.id = s.next(scheduler.Event_SUBSCRIBED).Subscribed.FrameworkID.Value
	streamID := h.streamIDOf(s.id)
	revive := encodeCall(t, mediaJSON, calls.Revive().With(calls.Framework(s.id)))

	challenge := `Basic realm="mesos-master-scheduler"`
	for _, tc := range []struct {
		name              string
		principal, secret string
		body              []byte
		streamID          string
	}{
		{"subscribe without credentials", "", "", subscribe, ""},
		{"subscribe with wrong secret", "fob", "nope", subscribe, ""},
		{"subscribe with unknown principal", "eve", "s3cret", subscribe, ""},
		{"call without credentials", "", "", revive, streamID},
		{"call with wrong secret", "fob", "s3cret2", revive, streamID},
		{"unparsable body without credentials", "", "", []byte("{"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, hdr, body := h.authPost(tc.principal, tc.secret, mediaJSON, tc.streamID, tc.body)
			if code != http.StatusUnauthorized {
				t.Fatalf("status %d (%s), want 401", code, body)
			}
			if got := hdr.Get("WWW-Authenticate"); got != challenge {
				t.Fatalf("WWW-Authenticate %q, want %q", got, challenge)
			}
			if body == "" {
				t.Fatal("401 without a reason")
			}
		})
	}
	t.Run("malformed authorization header", func(t *testing.T) {
		for _, auth := range []string{"Bearer abc", "Basic !!!", "Basic Zm9v"} {
			req, _ := http.NewRequest(http.MethodPost, h.url, bytes.NewReader(subscribe))
			req.Header.Set("Content-Type", mediaJSON)
			req.Header.Set("Authorization", auth)
			resp, err := rawClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("Authorization %q: status %d, want 401", auth, resp.StatusCode)
			}
		}
	})

	// Item 106: principal mismatches are 400, unauthenticated callers 401.
	t.Run("subscribe with another principal", func(t *testing.T) {
		code, _, body := h.authPost("other", "pass2", mediaJSON, "", subscribe)
		if code != http.StatusBadRequest {
			t.Fatalf("status %d (%s), want 400", code, body)
		}
	})
	t.Run("call authenticated as another principal", func(t *testing.T) {
		code, _, body := h.authPost("other", "pass2", mediaJSON, streamID, revive)
		if code != http.StatusBadRequest {
			t.Fatalf("status %d (%s), want 400", code, body)
		}
	})
	t.Run("subscribe with matching principal", func(t *testing.T) {
		code, _, body := h.authPost("fob", "s3cret", mediaJSON, "", subscribe)
		if code != http.StatusOK {
			t.Fatalf("status %d (%s), want 200", code, body)
		}
	})
	// None of the refused requests disturbed the subscription.
	s.mustCall(calls.Revive())
}

func TestCredentialsValidated(t *testing.T) {
	if _, err := New(Config{Address: "127.0.0.1:5050", Credentials: map[string]string{"": "x"}}, nil); err == nil {
		t.Fatal("empty principal accepted")
	}
}

// Without credentials configured, Authorization headers are ignored.
func TestNoAuthenticationByDefault(t *testing.T) {
	h := newHarness(t)
	info := frameworkInfo()
	info.Principal = ptr("anyone")
	code, _, body := h.authPost("fob", "whatever", mediaJSON, "", encodeCall(t, mediaJSON, calls.Subscribe(info)))
	if code != http.StatusOK {
		t.Fatalf("status %d (%s), want 200", code, body)
	}
}
