package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fob-project/fob/executor/callserver"
	"github.com/fob-project/fob/state"
)

// TestCallFastPathAnswersLikeTheRouter: every request the call fast path
// takes or leaves gets the same status, type and body as from the
// gorilla/mux router alone, with and without an API token.
func TestCallFastPathAnswersLikeTheRouter(t *testing.T) {
	for _, token := range []string{"", "s3cret"} {
		store, err := state.NewMemory()
		if err != nil {
			t.Fatal(err)
		}
		s := New(Config{Token: token, CallWait: 10 * time.Millisecond}, store, slog.New(slog.DiscardHandler))
		ctx, cancel := context.WithCancel(context.Background())
		go s.Run(ctx)
		h := &harness{t: t, store: store}
		exe := callserver.New(callserver.Config{}, &echoCaller{}, nil)
		exe.SetReady(true)
		id := "00000001-0000-4000-8000-000000000000"
		now := time.Now()
		if err := store.PutFunction(&state.Function{ID: id, Name: "adder", Language: "python", Code: []byte("x"), Version: 1,
			Limits: state.Limits{Timeout: time.Second}, Instances: 1, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		h.runInstance(id, exe)
		waitFor(t, func() bool { rt, _ := s.routes.lookup(id); return rt != nil && rt.pick(nil) != nil })

		cases := []struct{ method, target, body, auth string }{
			{"GET", "/api/call/" + id + "?a:1,b:2", "", "Bearer s3cret"},
			{"POST", "/api/call/" + id, `{"a":1}`, "Bearer s3cret"},
			{"POST", "/api/call/adder", `{"a":1}`, "Bearer s3cret"},
			{"POST", "/api/call/" + id, `{"a":`, "Bearer s3cret"},
			{"GET", "/api/call/" + id, "", ""},
			{"GET", "/api/call/" + id, "", "Bearer wrong"},
			{"GET", "/api/call/nope", "", "Bearer s3cret"},
			{"GET", "/api/call/", "", "Bearer s3cret"},
			{"GET", "/api/call/" + id + "/extra", "", "Bearer s3cret"},
			{"GET", "/api/call/..", "", "Bearer s3cret"},
			{"PUT", "/api/call/" + id, "", "Bearer s3cret"},
			{"DELETE", "/api/call/" + id, "", "Bearer s3cret"},
			{"GET", "/api/stats", "", "Bearer s3cret"},
		}
		ok := 0
		for _, c := range cases {
			answer := func(handler http.Handler) (int, string, string) {
				req := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
				if c.auth != "" {
					req.Header.Set("Authorization", c.auth)
				}
				w := httptest.NewRecorder()
				handler.ServeHTTP(w, req)
				b, _ := io.ReadAll(w.Result().Body)
				return w.Code, w.Header().Get("Content-Type"), string(b)
			}
			fs, ft, fb := answer(s.Handler())
			rs, rtype, rb := answer(s.router)
			if fs != rs || ft != rtype || fb != rb {
				t.Errorf("token %q, %s %s: fast path %d %s %s; router %d %s %s", token, c.method, c.target, fs, ft, fb, rs, rtype, rb)
			}
			if fs == http.StatusOK && strings.HasPrefix(c.target, "/api/call/") {
				ok++
			}
		}
		if ok < 3 {
			t.Errorf("token %q: %d calls answered 200, want the 3 valid ones at least: the comparison proves little", token, ok)
		}
		cancel()
	}
}
