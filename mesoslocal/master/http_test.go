package master

import (
	"bufio"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"
)

// Conformance: 1, 2, 3, 6, 7, 8, 19
func TestSchedulerEndpointTransportErrors(t *testing.T) {
	h := newHarness(t)
	subscribe := encodeCall(t, mediaJSON, calls.Subscribe(frameworkInfo()))
	mismatch := calls.Subscribe(frameworkInfo())
	mismatch.FrameworkID = &mesos.FrameworkID{Value: "other"}
	tests := []struct {
		name        string
		method      string
		contentType string
		accept      string
		streamID    string
		body        []byte
		want        int
	}{
		{"GET is not allowed", http.MethodGet, mediaJSON, "", "", nil, http.StatusMethodNotAllowed},
		{"PUT is not allowed", http.MethodPut, mediaJSON, "", "", subscribe, http.StatusMethodNotAllowed},
		{"missing content type", http.MethodPost, "", "", "", subscribe, http.StatusBadRequest},
		{"unsupported content type", http.MethodPost, "text/plain", "", "", subscribe, http.StatusUnsupportedMediaType},
		{"content type with parameters", http.MethodPost, "application/json; charset=utf-8", "", "", subscribe, http.StatusUnsupportedMediaType},
		{"unparsable json", http.MethodPost, mediaJSON, "", "", []byte("{"), http.StatusBadRequest},
		{"unparsable protobuf", http.MethodPost, mediaProtobuf, "", "", []byte{0xff, 0xff}, http.StatusBadRequest},
		{"unknown enum name", http.MethodPost, mediaJSON, "", "", []byte(`{"type":"NOPE"}`), http.StatusBadRequest},
		{"subscribe without sub-message", http.MethodPost, mediaJSON, "", "", []byte(`{"type":"SUBSCRIBE"}`), http.StatusBadRequest},
		{"subscribe missing user", http.MethodPost, mediaJSON, "", "",
			[]byte(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"name":"x"}}}`), http.StatusBadRequest},
		{"subscribe with stream id", http.MethodPost, mediaJSON, "", "abc", subscribe, http.StatusBadRequest},
		{"subscribe framework id mismatch", http.MethodPost, mediaJSON, "", "", encodeCall(t, mediaJSON, mismatch), http.StatusBadRequest},
		{"accept nothing acceptable", http.MethodPost, mediaJSON, "text/html", "", subscribe, http.StatusNotAcceptable},
		{"accept json with q=0", http.MethodPost, mediaJSON, "application/json;q=0, text/plain", "", subscribe, http.StatusNotAcceptable},
		{"null lists are absent", http.MethodPost, mediaJSON, "", "",
			[]byte(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"u","name":"n","capabilities":null,"roles":null},"suppressed_roles":null},"unknown_key":1}`),
			http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.rawPost(tc.method, tc.contentType, tc.accept, tc.streamID, tc.body)
			defer resp.Body.Close()
			if resp.StatusCode != tc.want {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, b, tc.want)
			}
		})
	}
}

// Conformance: 3, 4, 5, 9, 10, 11, 12, 20
func TestSubscribeStreamFormat(t *testing.T) {
	tests := []struct {
		accept string
		want   string
	}{
		{"", mediaJSON},
		{"*/*", mediaJSON},
		{"application/*", mediaJSON},
		{mediaJSON, mediaJSON},
		{mediaProtobuf, mediaProtobuf},
		{"application/json;q=0, application/x-protobuf", mediaProtobuf},
	}
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	h := newHarness(t, func(c *Config) { c.HeartbeatInterval = 100 * time.Millisecond })
	seen := map[string]bool{}
	for _, tc := range tests {
		t.Run("accept "+tc.accept, func(t *testing.T) {
			resp := h.rawPost(http.MethodPost, mediaJSON, tc.accept, "",
				encodeCall(t, mediaJSON, calls.Subscribe(frameworkInfo())))
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Type"); got != tc.want {
				t.Fatalf("Content-Type %q, want %q", got, tc.want)
			}
			if resp.ContentLength != -1 || len(resp.TransferEncoding) == 0 || resp.TransferEncoding[0] != "chunked" {
				t.Fatalf("want chunked without length, got length %d, encoding %v", resp.ContentLength, resp.TransferEncoding)
			}
			sid := resp.Header.Get("Mesos-Stream-Id")
			if !uuidRE.MatchString(sid) || seen[sid] {
				t.Fatalf("bad or reused stream id %q", sid)
			}
			seen[sid] = true
			rr := recordReader{bufio.NewReader(resp.Body)}
			var types []scheduler.Event_Type
			start := time.Now()
			for len(types) < 4 {
				b, err := rr.next()
				if err != nil {
					t.Fatalf("record %d: %v", len(types), err)
				}
				ev := decodeEvent(t, tc.want, b)
				types = append(types, ev.Type)
				if ev.Type == scheduler.Event_SUBSCRIBED {
					sub := ev.Subscribed
					if !regexp.MustCompile(`^` + regexp.QuoteMeta(h.m.ID()) + `-\d{4}$`).MatchString(sub.FrameworkID.Value) {
						t.Errorf("framework id %q", sub.FrameworkID.Value)
					}
					if sub.GetHeartbeatIntervalSeconds() != 0.1 {
						t.Errorf("heartbeat_interval_seconds %v", sub.GetHeartbeatIntervalSeconds())
					}
					mi := sub.MasterInfo
					if mi == nil || mi.GetPort() == 0 || mi.ID != h.m.ID() || mi.IP != 16777343 {
						t.Errorf("master_info %+v", mi)
					}
				}
			}
			want := []scheduler.Event_Type{scheduler.Event_SUBSCRIBED, scheduler.Event_HEARTBEAT,
				scheduler.Event_HEARTBEAT, scheduler.Event_HEARTBEAT}
			for i := range want {
				if types[i] != want[i] {
					t.Fatalf("events %v, want %v", types, want)
				}
			}
			if d := time.Since(start); d < 150*time.Millisecond {
				t.Errorf("three heartbeats after %s: interval not honoured", d)
			}
		})
	}
}

// Conformance: 13, 14, 15, 16, 17
func TestSubscribeRefusals(t *testing.T) {
	h := newHarness(t)
	multi := mesos.FrameworkInfo_Capability_MULTI_ROLE
	withRole := func(role string, roles []string, caps ...mesos.FrameworkInfo_Capability_Type) *mesos.FrameworkInfo {
		fi := frameworkInfo(caps...)
		if role != "" {
			fi.Role = &role
		}
		fi.Roles = roles
		return fi
	}
	// A torn-down framework's id is refused afterwards.
	gone := h.subscribe(mediaJSON, frameworkInfo())
	gone.mustCall(&scheduler.Call{Type: scheduler.Call_TEARDOWN})
	// A live framework with a principal.
	owned := frameworkInfo()
	owned.Principal = ptr("alice")
	live := h.subscribe(mediaJSON, owned)

	tests := []struct {
		name       string
		info       *mesos.FrameworkInfo
		suppressed []string
		want       string
	}{
		{"role with MULTI_ROLE", withRole("a", nil, multi), nil, "must not be present"},
		{"roles without MULTI_ROLE", withRole("", []string{"a"}), nil, "must not be set"},
		{"duplicate roles", withRole("", []string{"a", "a"}, multi), nil, "duplicate"},
		{"invalid role", withRole("", []string{"a b"}, multi), nil, "invalid"},
		{"invalid role component", withRole("a/../b", nil), nil, "invalid"},
		{"suppressed not subset", withRole("", []string{"a"}, multi), []string{"b"}, "not contained"},
		{"removed framework", func() *mesos.FrameworkInfo {
			fi := frameworkInfo()
			fi.ID = &mesos.FrameworkID{Value: gone.id}
			return fi
		}(), nil, "Framework has been removed"},
		{"principal changed", func() *mesos.FrameworkInfo {
			fi := frameworkInfo()
			fi.ID = &mesos.FrameworkID{Value: live.id}
			fi.Principal = ptr("mallory")
			return fi
		}(), nil, "principal"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := calls.Subscribe(tc.info)
			c.Subscribe.SuppressedRoles = tc.suppressed
			resp := h.rawPost(http.MethodPost, mediaJSON, mediaJSON, "", encodeCall(t, mediaJSON, c))
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Mesos-Stream-Id") == "" || resp.ContentLength != -1 {
				t.Fatalf("status %d, stream id %q, length %d", resp.StatusCode,
					resp.Header.Get("Mesos-Stream-Id"), resp.ContentLength)
			}
			rr := recordReader{bufio.NewReader(resp.Body)}
			b, err := rr.next()
			if err != nil {
				t.Fatal(err)
			}
			ev := decodeEvent(t, mediaJSON, b)
			if ev.Type != scheduler.Event_ERROR || !strings.Contains(ev.Error.Message, tc.want) {
				t.Fatalf("got %s %v, want ERROR containing %q", ev.Type, ev.Error, tc.want)
			}
			if !strings.Contains(string(b), `"error":{`) {
				t.Errorf("ERROR wire form %s", b)
			}
			if _, err := rr.next(); err != io.EOF {
				t.Fatalf("stream not closed after ERROR: %v", err)
			}
		})
	}
	// The live framework was not disturbed by the refused takeover.
	live.none(scheduler.Event_ERROR, 100*time.Millisecond)
}

// Conformance: 17, 18
func TestResubscribeKeepsImmutableFieldsAndRecoversUnknownIDs(t *testing.T) {
	h := newHarness(t)
	for _, mt := range codecsUnderTest {
		t.Run(mt, func(t *testing.T) {
			fi := frameworkInfo()
			fi.ID = &mesos.FrameworkID{Value: "recovered-" + strings.ReplaceAll(mt, "/", "-")}
			fi.FailoverTimeout = ptr(60.0)
			s := h.subscribe(mt, fi)
			if s.id != fi.ID.Value {
				t.Fatalf("recovered framework got id %q, want %q", s.id, fi.ID.Value)
			}
			again := frameworkInfo()
			again.ID = fi.ID
			again.User = "root"
			again.Checkpoint = ptr(true)
			h.subscribe(mt, again)
			h.m.mu.Lock()
			got := h.m.frameworks[s.id].info
			h.m.mu.Unlock()
			if got.User != "nobody" || got.GetCheckpoint() {
				t.Fatalf("user/checkpoint changed on re-subscribe: %q %v", got.User, got.GetCheckpoint())
			}
		})
	}
}
