package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"strings"

	"github.com/mesos/mesos-go/api/v1/lib/executor"
)

// mediaType is one of the two encodings of the v1 API.
type mediaType string

const (
	mediaJSON     mediaType = "application/json"
	mediaProtobuf mediaType = "application/x-protobuf"
)

var errUnsupportedMedia = errors.New("unsupported media type")

// requestMedia reads Content-Type: missing is a 400 in Mesos, anything
// but JSON or protobuf a 415 (errUnsupportedMedia).
func requestMedia(header string) (mediaType, error) {
	if header == "" {
		return "", errors.New("expecting 'Content-Type' to be present")
	}
	mt, _, err := mime.ParseMediaType(header)
	if err != nil {
		return "", fmt.Errorf("%w: %q", errUnsupportedMedia, header)
	}
	switch mediaType(mt) {
	case mediaJSON, mediaProtobuf:
		return mediaType(mt), nil
	}
	return "", fmt.Errorf("%w: %q", errUnsupportedMedia, header)
}

// responseMedia picks the stream encoding from Accept: JSON when absent,
// wildcard or acceptable, else protobuf if acceptable; false means 406.
func responseMedia(accept string) (mediaType, bool) {
	if strings.TrimSpace(accept) == "" {
		return mediaJSON, true
	}
	var json, proto bool
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || params["q"] == "0" {
			continue
		}
		switch mt {
		case "*/*", "application/*", string(mediaJSON):
			json = true
		case string(mediaProtobuf):
			proto = true
		}
	}
	switch {
	case json:
		return mediaJSON, true
	case proto:
		return mediaProtobuf, true
	}
	return "", false
}

func (m mediaType) unmarshalCall(body []byte, call *executor.Call) error {
	if m == mediaProtobuf {
		return call.Unmarshal(body)
	}
	return json.Unmarshal(body, call)
}

func (m mediaType) marshalEvent(ev *executor.Event) ([]byte, error) {
	if m == mediaProtobuf {
		return ev.Marshal()
	}
	return ev.MarshalJSON()
}
