package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestParseQueryParams(t *testing.T) {
	tests := []struct {
		raw     string
		want    map[string]string
		wantErr bool
	}{
		{"", map[string]string{}, false},
		{"param1:1,param2:1", map[string]string{"param1": "1", "param2": "1"}, false},
		{"param1=1&param2=1", map[string]string{"param1": "1", "param2": "1"}, false},
		{"a:x%20y,b:%3A", map[string]string{"a": "x y", "b": ":"}, false},
		{"a=1&b:2,c:3", map[string]string{"a": "1", "b": "2", "c": "3"}, false},
		{"a:", map[string]string{"a": ""}, false},
		{"a:1:2", map[string]string{"a": "1:2"}, false},
		{"a:1,", map[string]string{"a": "1"}, false},
		{"a:1,a:2", nil, true},
		{"a=1&a=2", nil, true},
		{"novalue", nil, true},
		{"1a:1", nil, true},
		{"a-b:1", nil, true},
		{"a=%zz", nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.raw, func(t *testing.T) {
			got, err := parseQueryParams(tc.raw)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCallBody(t *testing.T) {
	tests := []struct {
		name    string
		query   map[string]string
		body    string
		want    map[string]any
		wantErr bool
	}{
		{"empty", map[string]string{}, "", map[string]any{}, false},
		{"query only", map[string]string{"a": "1"}, "", map[string]any{"a": "1"}, false},
		{"typed body", map[string]string{}, `{"a": 1, "b": [true]}`, map[string]any{"a": 1.0, "b": []any{true}}, false},
		{"merged", map[string]string{"a": "1"}, `{"b": 2}`, map[string]any{"a": "1", "b": 2.0}, false},
		{"duplicate", map[string]string{"a": "1"}, `{"a": 2}`, nil, true},
		{"array body", map[string]string{}, `[1,2]`, nil, true},
		{"null body", map[string]string{}, `null`, nil, true},
		{"bad json", map[string]string{}, `{"a":`, nil, true},
		{"bad key", map[string]string{}, `{"a b": 1}`, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := callBody(tc.query, []byte(tc.body))
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("body %s is not JSON: %v", b, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzParseQueryParams checks that any query either parses into valid
// parameter names or is refused, and never panics.
func FuzzParseQueryParams(f *testing.F) {
	for _, s := range []string{"param1:1,param2:1", "a=1&b=2", "a:%20", "a=1&b:2,c:3", ",,,:", "&&=", "%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		params, err := parseQueryParams(raw)
		if err != nil {
			return
		}
		for k := range params {
			if !validParamName(k) {
				t.Fatalf("accepted invalid name %q from %q", k, raw)
			}
		}
		if _, err := callBody(params, nil); err != nil {
			t.Fatalf("parsed params %v do not encode: %v", params, err)
		}
	})
}

// FuzzCallBody checks that whatever body is accepted reaches the executor
// as a JSON object.
func FuzzCallBody(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{}`, `[]`, `null`, `{"a":`, ` {"b": "x"} `} {
		f.Add(s, "q")
	}
	f.Add(`{"a\u0062":1, "x": {"y": [1, "}", "\""]}, "z": "a,\"b"}`, "")
	f.Add(`{"ok":1,"1bad":2}`, "")
	f.Fuzz(func(t *testing.T, body, qv string) {
		// Without query parameters a body is checked without decoding; it
		// must be accepted or refused exactly as decoding does.
		if trimmed := bytes.TrimSpace([]byte(body)); len(trimmed) > 0 {
			fast, fastErr := callBody(map[string]string{}, []byte(body))
			slow, slowErr := callBodyDecoded(map[string]string{}, trimmed)
			if (fastErr == nil) != (slowErr == nil) || (fastErr == nil && !bytes.Equal(fast, slow)) {
				t.Fatalf("body %q: unchecked %q %v, decoded %q %v", body, fast, fastErr, slow, slowErr)
			}
		}
		out, err := callBody(map[string]string{"q": qv}, []byte(body))
		if err != nil {
			return
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(out, &obj); err != nil || obj == nil {
			t.Fatalf("accepted body %q became %q, not a JSON object", body, out)
		}
	})
}
