package worker

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame kinds. A frame is a 4-byte big-endian length n followed by n bytes:
// one kind byte and n-1 bytes of payload. The kinds are ASCII letters so a
// hex dump of the pipe is readable.
const (
	// KindCall (executor → worker): payload is the parameters, a JSON object.
	KindCall byte = 'C'
	// KindLoaded (worker → executor): the code loaded; payload empty.
	KindLoaded byte = 'L'
	// KindLoadError (worker → executor): payload is an Exception JSON object.
	KindLoadError byte = 'E'
	// KindResult (worker → executor): payload is the JSON-encoded result.
	KindResult byte = 'R'
	// KindRaised (worker → executor): the function raised; payload is an
	// Exception JSON object.
	KindRaised byte = 'X'
	// KindBadParams (worker → executor): the parameters do not bind to the
	// function's signature; payload is an Exception JSON object.
	KindBadParams byte = 'B'
	// KindWaiting (worker → executor, once): a worker started without code
	// is ready to load some; payload empty.
	KindWaiting byte = 'W'
	// KindLoad (executor → worker): load the code; payload is a
	// LoadRequest in JSON. Answered with KindLoaded or KindLoadError.
	KindLoad byte = 'F'
)

// HeaderSize is the length prefix plus the kind byte.
const HeaderSize = 5

// DefaultMaxFrame bounds a frame so that a corrupt length prefix cannot make
// the executor allocate gigabytes.
const DefaultMaxFrame = 16 << 20

var (
	// ErrEmptyFrame is a frame whose length prefix is zero: it has no kind.
	ErrEmptyFrame = errors.New("frame: empty frame")
	// ErrFrameTooLarge is a frame longer than the reader's limit.
	ErrFrameTooLarge = errors.New("frame: frame too large")
)

// ReadFrame reads one frame from r. The payload is a fresh slice the caller
// owns. max bounds the frame length (kind byte included); max <= 0 means
// DefaultMaxFrame. A clean end of stream before the first byte is io.EOF; an
// end of stream inside a frame is io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, max int) (kind byte, payload []byte, err error) {
	if max <= 0 {
		max = DefaultMaxFrame
	}
	var hdr [HeaderSize]byte
	if _, err := io.ReadFull(r, hdr[:4]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:4])
	if n == 0 {
		return 0, nil, ErrEmptyFrame
	}
	if uint64(n) > uint64(max) {
		return 0, nil, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, max)
	}
	if _, err := io.ReadFull(r, hdr[4:5]); err != nil {
		return 0, nil, eofInFrame(err)
	}
	payload = make([]byte, n-1)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, eofInFrame(err)
	}
	return hdr[4], payload, nil
}

func eofInFrame(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// AppendFrameHeader appends the header of a frame of the given kind whose
// payload is n bytes long.
func AppendFrameHeader(dst []byte, kind byte, n int) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(n+1))
	return append(dst, kind)
}

// WriteFrame writes one frame with a single Write call, so that a frame is
// never interleaved with another writer's bytes on a pipe.
func WriteFrame(w io.Writer, kind byte, payload []byte) error {
	buf := make([]byte, 0, HeaderSize+len(payload))
	buf = AppendFrameHeader(buf, kind, len(payload))
	buf = append(buf, payload...)
	_, err := w.Write(buf)
	return err
}

// SealFrame fills in the header of buf, whose first HeaderSize bytes were
// reserved for it and whose remaining bytes are the payload. It lets the
// call path read a request body straight into the frame that carries it.
func SealFrame(buf []byte, kind byte) {
	binary.BigEndian.PutUint32(buf[:4], uint32(len(buf)-4))
	buf[4] = kind
}
