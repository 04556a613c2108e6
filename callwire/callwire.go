// Package callwire is the call channel between fob's API and its
// executors: one long-lived TCP connection per executor, opened as an HTTP
// request and upgraded (Upgrade: fob-call/1), that carries many calls at
// once as small binary frames.
//
// Why not one HTTP request per call: on a busy instance most of a call's
// cost on both ends is the kernel's, one socket write and one wakeup per
// request and per answer. Over one multiplexed connection each side writes
// whatever has queued up in a single write, so under load many calls share
// a syscall and a wakeup, and neither side parses HTTP per call.
//
// A frame is a 9-byte header — kind (1 byte), call id (4 bytes, big
// endian), payload length (4 bytes, big endian) — and the payload:
//
//	KindCall   API → executor  the call's parameters, a JSON object
//	KindCancel API → executor  empty: the caller gave up on call id
//	KindAnswer executor → API  HTTP status (2 bytes) + the JSON answer body
//	KindGoAway executor → API  empty; id is the last call read, 0 if none:
//	                           the executor is closing the channel
//
// Call ids are chosen by the API: 1, 2, 3, … in the order the frames are
// written (0 is never used, and after 2³²−1 comes 1 again), so "later
// than" is serial-number arithmetic (After). Every call gets exactly one
// answer unless it is cancelled or the connection ends. An executor that
// closes a channel stops reading, sends KindGoAway naming the last call it
// read, answers every call it has read and only then closes: calls later
// than the GoAway's id were never read, and the API may send them to
// another instance at once. A connection that ends without a GoAway
// leaves its unanswered calls in doubt. The answer body is exactly what the
// executor's POST /call would have answered, so fob's error model is the
// same on both paths.
package callwire

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const (
	// Protocol is the Upgrade token of the channel.
	Protocol = "fob-call/1"
	// Path is the executor's endpoint that upgrades to the channel.
	Path = "/calls"
	// HeaderSize is the fixed frame header: kind, id, length.
	HeaderSize = 9
	// MaxPayload bounds a frame's payload, so that a corrupt length cannot
	// make either side allocate gigabytes. Calls are bounded well below it
	// (the executor's DefaultMaxBody).
	MaxPayload = 16 << 20
)

// Frame kinds, ASCII letters so that a dump of the stream is readable.
const (
	KindCall   byte = 'C'
	KindCancel byte = 'X'
	KindAnswer byte = 'A'
	KindGoAway byte = 'G'
)

// Header is a decoded frame header.
type Header struct {
	Kind byte
	ID   uint32
	Len  int // payload length
}

var (
	// ErrBadKind is a frame of a kind this version does not know.
	ErrBadKind = errors.New("callwire: unknown frame kind")
	// ErrTooLarge is a frame whose payload exceeds MaxPayload.
	ErrTooLarge = errors.New("callwire: frame too large")
	// ErrShortAnswer is an answer payload without its status.
	ErrShortAnswer = errors.New("callwire: answer without a status")
)

// ReadHeader reads and checks one frame header. A clean end of stream
// before the header is io.EOF; inside it io.ErrUnexpectedEOF.
func ReadHeader(r *bufio.Reader) (Header, error) {
	b, err := r.Peek(HeaderSize)
	if err != nil {
		if len(b) > 0 && errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Header{}, err
	}
	h := Header{
		Kind: b[0],
		ID:   binary.BigEndian.Uint32(b[1:5]),
		Len:  int(binary.BigEndian.Uint32(b[5:9])),
	}
	r.Discard(HeaderSize)
	switch h.Kind {
	case KindCall, KindCancel, KindAnswer, KindGoAway:
	default:
		return h, fmt.Errorf("%w %q", ErrBadKind, h.Kind)
	}
	if h.Len > MaxPayload {
		return h, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, h.Len, MaxPayload)
	}
	return h, nil
}

// AppendHeader appends a frame header to b.
func AppendHeader(b []byte, kind byte, id uint32, payloadLen int) []byte {
	b = append(b, kind)
	b = binary.BigEndian.AppendUint32(b, id)
	return binary.BigEndian.AppendUint32(b, uint32(payloadLen))
}

// AppendCall appends a whole call frame to b.
func AppendCall(b []byte, id uint32, params []byte) []byte {
	b = AppendHeader(b, KindCall, id, len(params))
	return append(b, params...)
}

// AppendCancel appends a cancel frame to b.
func AppendCancel(b []byte, id uint32) []byte {
	return AppendHeader(b, KindCancel, id, 0)
}

// AppendAnswer appends a whole answer frame to b.
func AppendAnswer(b []byte, id uint32, status int, body []byte) []byte {
	b = AppendHeader(b, KindAnswer, id, 2+len(body))
	b = binary.BigEndian.AppendUint16(b, uint16(status))
	return append(b, body...)
}

// AppendGoAway appends a GoAway frame to b; lastRead is the id of the
// last call read, 0 if none was.
func AppendGoAway(b []byte, lastRead uint32) []byte {
	return AppendHeader(b, KindGoAway, lastRead, 0)
}

// NextID is the call id after id.
func NextID(id uint32) uint32 {
	if id++; id == 0 {
		id = 1
	}
	return id
}

// After reports whether call id a was written after call id b, for ids
// less than 2³¹ calls apart.
func After(a, b uint32) bool { return int32(a-b) > 0 }

// ParseAnswer splits an answer payload into its status and body; body
// aliases payload.
func ParseAnswer(payload []byte) (status int, body []byte, err error) {
	if len(payload) < 2 {
		return 0, nil, ErrShortAnswer
	}
	status = int(binary.BigEndian.Uint16(payload))
	if status < 100 || status > 599 {
		return 0, nil, fmt.Errorf("callwire: answer status %d is not an HTTP status", status)
	}
	return status, payload[2:], nil
}
