package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// maxParams bounds how many parameters one call may carry.
const maxParams = 256

// parseQueryParams turns a call's raw query into parameters. Two forms are
// accepted, also mixed across '&'-separated parts:
//   - the seed's form, "param1:1,param2:1", whose values are strings;
//   - the ordinary form, "param1=1&param2=1", also with string values.
//
// A name given twice is an error rather than a silent choice.
func parseQueryParams(raw string) (map[string]string, error) {
	params := map[string]string{}
	if raw == "" {
		return params, nil
	}
	add := func(k, v string) error {
		if !validParamName(k) {
			return fmt.Errorf("parameter name %q is not an identifier", k)
		}
		if _, dup := params[k]; dup {
			return fmt.Errorf("parameter %q given twice", k)
		}
		if len(params) == maxParams {
			return fmt.Errorf("more than %d parameters", maxParams)
		}
		params[k] = v
		return nil
	}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		if k, v, ok := strings.Cut(part, "="); ok {
			key, err1 := url.QueryUnescape(k)
			val, err2 := url.QueryUnescape(v)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("bad escape in %q", part)
			}
			if err := add(key, val); err != nil {
				return nil, err
			}
			continue
		}
		for _, pair := range strings.Split(part, ",") {
			if pair == "" {
				continue
			}
			k, v, ok := strings.Cut(pair, ":")
			if !ok {
				return nil, fmt.Errorf("parameter %q has no value (want name:value or name=value)", pair)
			}
			key, err1 := url.QueryUnescape(k)
			val, err2 := url.QueryUnescape(v)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("bad escape in %q", pair)
			}
			if err := add(key, val); err != nil {
				return nil, err
			}
		}
	}
	return params, nil
}

// validParamName accepts names a function can declare as a parameter in
// every supported language: ASCII identifiers.
func validParamName[T string | []byte](s T) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// callBody builds the JSON object sent to the executor from the query
// parameters and an optional JSON object body. A body alone passes through
// untouched, so typed values keep their exact bytes.
func callBody(query map[string]string, body []byte) ([]byte, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return json.Marshal(query)
	}
	if len(query) == 0 {
		// The common case, a JSON body alone: check it without decoding.
		if body[0] != '{' || !json.Valid(body) {
			return nil, errNotObject
		}
		var bad []byte
		plain := objectKeys(body, func(key []byte) bool {
			if !validParamName(key) {
				bad = key
				return false
			}
			return true
		})
		switch {
		case bad != nil:
			return nil, fmt.Errorf("parameter name %q is not an identifier", bad)
		case plain:
			return body, nil
		}
		// A key with escapes: decode it below.
	}
	return callBodyDecoded(query, body)
}

var errNotObject = errors.New("call body must be a JSON object of parameters")

// objectKeys calls visit with each top-level key of body, a valid JSON
// object, until visit returns false. It returns false, having visited
// only part of them, at a key with escape sequences: the caller decodes
// those.
func objectKeys(body []byte, visit func(key []byte) bool) (plain bool) {
	depth := 0 // of arrays and objects inside the top-level object
	wantKey := true
	for i := bytes.IndexByte(body, '{') + 1; i < len(body); i++ {
		switch c := body[i]; c {
		case '"':
			j, escaped := i+1, false
			for ; body[j] != '"'; j++ {
				if body[j] == '\\' {
					escaped = true
					j++ // the escaped byte cannot end the string
				}
			}
			if depth == 0 && wantKey {
				if escaped {
					return false
				}
				if !visit(body[i+1 : j]) {
					return true
				}
				wantKey = false
			}
			i = j
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		case ',':
			wantKey = wantKey || depth == 0
		}
	}
	return true
}

// callBodyDecoded is callBody by decoding the body: for query parameters
// to merge, or keys with escapes.
func callBodyDecoded(query map[string]string, body []byte) ([]byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return nil, errNotObject
	}
	for k := range obj {
		if !validParamName(k) {
			return nil, fmt.Errorf("parameter name %q is not an identifier", k)
		}
	}
	if len(query) == 0 {
		return body, nil
	}
	for k, v := range query {
		if _, dup := obj[k]; dup {
			return nil, fmt.Errorf("parameter %q given in both query and body", k)
		}
		b, _ := json.Marshal(v)
		obj[k] = b
	}
	if len(obj) > maxParams {
		return nil, fmt.Errorf("more than %d parameters", maxParams)
	}
	return json.Marshal(obj)
}
