package agent

import (
	"errors"
	"testing"
)

// Conformance: 110 (content negotiation as on the scheduler endpoint)
func TestMediaNegotiation(t *testing.T) {
	requests := []struct {
		header      string
		want        mediaType
		unsupported bool
		bad         bool
	}{
		{"application/json", mediaJSON, false, false},
		{"application/x-protobuf", mediaProtobuf, false, false},
		{"application/json; charset=utf-8", mediaJSON, false, false},
		{"", "", false, true},
		{"text/plain", "", true, false},
	}
	for _, tc := range requests {
		t.Run("content-type "+tc.header, func(t *testing.T) {
			got, err := requestMedia(tc.header)
			switch {
			case tc.unsupported && !errors.Is(err, errUnsupportedMedia):
				t.Fatalf("want unsupported, got %v", err)
			case tc.bad && (err == nil || errors.Is(err, errUnsupportedMedia)):
				t.Fatalf("want bad request, got %v", err)
			case !tc.bad && !tc.unsupported && (err != nil || got != tc.want):
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
	accepts := []struct {
		accept string
		want   mediaType
		ok     bool
	}{
		{"", mediaJSON, true},
		{"*/*", mediaJSON, true},
		{"application/json", mediaJSON, true},
		{"application/x-protobuf", mediaProtobuf, true},
		{"application/x-protobuf, application/json", mediaJSON, true},
		{"text/html", "", false},
		{"application/json;q=0, application/x-protobuf", mediaProtobuf, true},
	}
	for _, tc := range accepts {
		t.Run("accept "+tc.accept, func(t *testing.T) {
			got, ok := responseMedia(tc.accept)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("got %q %v", got, ok)
			}
		})
	}
}
