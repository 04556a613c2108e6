package callserver

import (
	"encoding/json"
	"errors"
)

// checkObject accepts exactly one JSON object, surrounded by optional
// whitespace. It validates without decoding: the bytes go to the worker
// as they came, and only the worker turns them into values.
func checkObject(body []byte) error {
	i := 0
	for i < len(body) && isSpace(body[i]) {
		i++
	}
	if i == len(body) || body[i] != '{' {
		return errors.New("the body must be a JSON object of parameters, e.g. {\"a\": 1}")
	}
	if !json.Valid(body) {
		return errors.New("the body is not valid JSON")
	}
	return nil
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
