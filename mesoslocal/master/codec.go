package master

import (
	"errors"
	"fmt"
	"mime"
	"reflect"
	"strconv"
	"strings"

	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// The two media types of the v1 API. Mesos compares request Content-Type
// headers with these by plain string equality (no parameters, no case
// folding), and so do we.
const (
	mediaJSON     = "application/json"
	mediaProtobuf = "application/x-protobuf"
)

// errNotAcceptable means the Accept header allows neither media type.
var errNotAcceptable = errors.New("neither application/json nor application/x-protobuf is acceptable")

var callType = reflect.TypeOf(scheduler.Call{})

// decodeCall parses one scheduler call encoded as mediaType.
func decodeCall(mediaType string, body []byte) (*scheduler.Call, error) {
	var call scheduler.Call
	switch mediaType {
	case mediaJSON:
		if err := call.UnmarshalJSON(body); err != nil {
			return nil, fmt.Errorf("decode json call: %w", err)
		}
		if err := checkJSONEnums(body, callType); err != nil {
			return nil, fmt.Errorf("decode json call: %w", err)
		}
		// The JSON decoder never checks proto2 required fields; a protobuf
		// encode does for the pointer-typed ones, which mirrors the check
		// Mesos runs after parsing JSON.
		if _, err := call.Marshal(); err != nil {
			return nil, fmt.Errorf("missing required fields: %w", err)
		}
	case mediaProtobuf:
		if err := call.Unmarshal(body); err != nil {
			return nil, fmt.Errorf("decode protobuf call: %w", err)
		}
	default:
		return nil, fmt.Errorf("unsupported media type %q", mediaType)
	}
	return &call, nil
}

// encodeEvent serialises one event for a stream of the given media type.
func encodeEvent(mediaType string, ev *scheduler.Event) ([]byte, error) {
	if mediaType == mediaProtobuf {
		b, err := ev.Marshal()
		if err != nil {
			return nil, fmt.Errorf("encode %s event: %w", ev.Type, err)
		}
		return b, nil
	}
	b, err := ev.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("encode %s event: %w", ev.Type, err)
	}
	return b, nil
}

// frame wraps one record in RecordIO framing: decimal length, LF, payload.
func frame(record []byte) []byte {
	out := make([]byte, 0, len(record)+12)
	out = strconv.AppendInt(out, int64(len(record)), 10)
	out = append(out, '\n')
	return append(out, record...)
}

// negotiate picks the response media type from an Accept header the way
// the Mesos master does: JSON if acceptable, else protobuf, else an error.
// A missing header accepts everything.
func negotiate(accept string) (string, error) {
	if strings.TrimSpace(accept) == "" {
		return mediaJSON, nil
	}
	ranges := parseAccept(accept)
	for _, mt := range []string{mediaJSON, mediaProtobuf} {
		if acceptable(ranges, mt) {
			return mt, nil
		}
	}
	return "", errNotAcceptable
}

type mediaRange struct {
	typ, sub string
	q        float64
}

func parseAccept(header string) []mediaRange {
	var out []mediaRange
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		mt, params, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		typ, sub, ok := strings.Cut(mt, "/")
		if !ok {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		out = append(out, mediaRange{typ: typ, sub: sub, q: q})
	}
	return out
}

// acceptable reports whether mediaType is acceptable: the most specific
// matching range decides, and q=0 means "not acceptable".
func acceptable(ranges []mediaRange, mediaType string) bool {
	typ, sub, _ := strings.Cut(mediaType, "/")
	best, bestQ := -1, 0.0
	for _, r := range ranges {
		spec := -1
		switch {
		case r.typ == typ && r.sub == sub:
			spec = 2
		case r.typ == typ && r.sub == "*":
			spec = 1
		case r.typ == "*" && r.sub == "*":
			spec = 0
		}
		if spec > best {
			best, bestQ = spec, r.q
		}
	}
	return best >= 0 && bestQ > 0
}
