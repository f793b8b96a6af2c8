package api

import (
	_ "embed"
	"net/http"
)

// openAPI is the OpenAPI 3 document of /api/v1, served at
// /api/v1/openapi.json to every authenticated principal. A test checks it
// against the handler's behaviour: every documented operation answers
// with a documented status.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI document.
func OpenAPI() []byte { return openAPI }

func (h *handler) openapi(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(openAPI)
}
