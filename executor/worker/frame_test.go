package worker

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestFrameRoundTrip(t *testing.T) {
	cases := []struct {
		name    string
		kind    byte
		payload []byte
	}{
		{"empty payload", KindLoaded, nil},
		{"json", KindCall, []byte(`{"a":1}`)},
		{"binary", KindResult, []byte{0, 1, 2, 255}},
		{"large", KindResult, bytes.Repeat([]byte("x"), 1<<20)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteFrame(&buf, c.kind, c.payload); err != nil {
				t.Fatal(err)
			}
			kind, payload, err := ReadFrame(&buf, 0)
			if err != nil {
				t.Fatal(err)
			}
			if kind != c.kind || !bytes.Equal(payload, c.payload) {
				t.Errorf("got %q %d bytes, want %q %d bytes", kind, len(payload), c.kind, len(c.payload))
			}
			if _, _, err := ReadFrame(&buf, 0); err != io.EOF {
				t.Errorf("after the frame: err = %v, want io.EOF", err)
			}
		})
	}
}

func TestSealFrame(t *testing.T) {
	buf := append(make([]byte, HeaderSize), `{"a":1}`...)
	SealFrame(buf, KindCall)
	var want bytes.Buffer
	WriteFrame(&want, KindCall, []byte(`{"a":1}`))
	if !bytes.Equal(buf, want.Bytes()) {
		t.Errorf("SealFrame = %x, want %x", buf, want.Bytes())
	}
}

func TestReadFrameErrors(t *testing.T) {
	cases := []struct {
		name  string
		input []byte
		max   int
		want  error
	}{
		{"eof", nil, 0, io.EOF},
		{"short length", []byte{0, 0}, 0, io.ErrUnexpectedEOF},
		{"empty frame", []byte{0, 0, 0, 0}, 0, ErrEmptyFrame},
		{"no kind", []byte{0, 0, 0, 1}, 0, io.ErrUnexpectedEOF},
		{"short payload", []byte{0, 0, 0, 3, 'R', '1'}, 0, io.ErrUnexpectedEOF},
		{"too large", []byte{0, 0, 0, 9, 'R'}, 8, ErrFrameTooLarge},
		{"huge length", []byte{0xff, 0xff, 0xff, 0xff}, 0, ErrFrameTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ReadFrame(bytes.NewReader(c.input), c.max)
			if !errors.Is(err, c.want) {
				t.Errorf("err = %v, want %v", err, c.want)
			}
		})
	}
}

// FuzzReadFrame checks that no input makes the decoder panic or allocate
// past its limit, and that whatever it decodes re-encodes to the same bytes.
func FuzzReadFrame(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 'L'})
	f.Add([]byte{0, 0, 0, 8, 'C', '{', '"', 'a', '"', ':', '1', '}'})
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 'R'})
	f.Fuzz(func(t *testing.T, data []byte) {
		const max = 1 << 16
		r := bytes.NewReader(data)
		for {
			kind, payload, err := ReadFrame(r, max)
			if err != nil {
				return
			}
			if len(payload)+1 > max {
				t.Fatalf("payload of %d bytes exceeds the limit", len(payload))
			}
			var buf bytes.Buffer
			WriteFrame(&buf, kind, payload)
			k2, p2, err := ReadFrame(&buf, max)
			if err != nil || k2 != kind || !bytes.Equal(p2, payload) {
				t.Fatalf("round trip changed the frame: %v", err)
			}
		}
	})
}

func BenchmarkFraming(b *testing.B) {
	payload := []byte(`{"a":1,"b":2,"name":"a somewhat longer parameter value"}`)
	var buf bytes.Buffer
	b.ReportAllocs()
	b.SetBytes(int64(len(payload) + HeaderSize))
	for b.Loop() {
		buf.Reset()
		if err := WriteFrame(&buf, KindCall, payload); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ReadFrame(&buf, 0); err != nil {
			b.Fatal(err)
		}
	}
}
