package taxii

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// Error is the TAXII error resource.
type Error struct {
	Title       string            `json:"title"`
	Description string            `json:"description,omitempty"`
	ErrorID     string            `json:"error_id,omitempty"`
	ErrorCode   string            `json:"error_code,omitempty"`
	HTTPStatus  string            `json:"http_status,omitempty"`
	Details     map[string]string `json:"details,omitempty"`
}

// MediaType is the TAXII 2.1 media type of every response.
const MediaType = "application/taxii+json;version=2.1"

// writeJSON writes v with status and the TAXII media type.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"title":"Internal Server Error","http_status":"500"}`)
	}
	w.Header().Set("Content-Type", MediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError writes an error resource with status, a code for machines
// and a description for people.
func writeError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, Error{
		Title:       http.StatusText(status),
		Description: desc,
		ErrorCode:   code,
		HTTPStatus:  strconv.Itoa(status),
	})
}
