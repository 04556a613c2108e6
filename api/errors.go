package api

import (
	"encoding/json"
	"net/http"
)

// errorBody is the one shape of every error fob's API answers.
type errorBody struct {
	Error string `json:"error"`
	// Detail carries machine-readable context where there is some, such as
	// the function's load error.
	Detail any `json:"detail,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"encode response"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}
