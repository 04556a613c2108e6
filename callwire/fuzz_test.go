package callwire

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// FuzzReadFrames feeds arbitrary bytes to the frame reader, as a broken or
// hostile peer could: it must never panic or accept an oversized frame,
// and every frame it accepts must encode back to the bytes it came from.
func FuzzReadFrames(f *testing.F) {
	f.Add(AppendCall(nil, 1, []byte(`{"a":1}`)))
	f.Add(AppendAnswer(AppendCancel(nil, 3), 3, 200, []byte(`{"result":2}`)))
	f.Add(AppendGoAway(nil, 3))
	f.Add([]byte("GET /calls HTTP/1.1\r\n\r\n"))
	f.Add(AppendHeader(nil, KindAnswer, 9, 1))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bufio.NewReader(bytes.NewReader(in))
		consumed := 0
		for {
			h, err := ReadHeader(r)
			if err != nil {
				return
			}
			if h.Len > MaxPayload {
				t.Fatalf("accepted a %d-byte payload", h.Len)
			}
			p := make([]byte, h.Len)
			if _, err := io.ReadFull(r, p); err != nil {
				return
			}
			again := append(AppendHeader(nil, h.Kind, h.ID, h.Len), p...)
			if !bytes.Equal(again, in[consumed:consumed+len(again)]) {
				t.Fatalf("frame re-encodes as %x, read from %x", again, in[consumed:consumed+len(again)])
			}
			consumed += len(again)
			if h.Kind == KindAnswer {
				if status, body, err := ParseAnswer(p); err == nil && (status < 100 || status > 599 || len(body) != len(p)-2) {
					t.Fatalf("ParseAnswer accepted status %d body %d of %d", status, len(body), len(p))
				}
			}
		}
	})
}
