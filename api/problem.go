package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Problem is an error response, as RFC 9457 problem details
// (application/problem+json). Detail is written for the person reading it:
// what went wrong and what to do about it. It never carries a stack trace
// or an internal error; those go to the log.
type Problem struct {
	Type   string `json:"type" doc:"A URI naming the kind of problem; about:blank when the status says it all"`
	Title  string `json:"title" doc:"The HTTP status text"`
	Status int    `json:"status" openapi:"minimum=400,maximum=599"`
	Detail string `json:"detail" doc:"What went wrong this time and what to do about it, for the person reading it"`
}

// problemContentType is the media type of error responses.
const problemContentType = "application/problem+json"

// writeProblem answers with a problem of status, whose title is the status
// text and whose type is about:blank (RFC 9457 §4.2.1): the status says
// what kind of problem it is, detail says the rest.
func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", problemContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail})
}

// maxBodyBytes is the largest request body decodeJSON reads by default.
const maxBodyBytes = 1 << 20

// decodeJSON reads r's body, at most limit bytes (maxBodyBytes if limit is
// 0 or less), into dst, refusing unknown fields and trailing data. On
// failure it has written the problem response (413 for a body too large,
// 415 for a body that is not JSON, 400 otherwise) and returns false.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any, limit int64) bool {
	if limit <= 0 {
		limit = maxBodyBytes
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		writeProblem(w, http.StatusUnsupportedMediaType, fmt.Sprintf("The request body is %s; send JSON with Content-Type: application/json.", ct))
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil && dec.Decode(&struct{}{}) != io.EOF {
		err = errors.New("more data after the JSON value")
	}
	if err == nil {
		return true
	}
	var tooBig *http.MaxBytesError
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		writeProblem(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("The request body is larger than %d bytes; send less.", limit))
	case errors.Is(err, io.EOF):
		writeProblem(w, http.StatusBadRequest, "The request body is empty; send a JSON object.")
	case errors.Is(err, io.ErrUnexpectedEOF):
		writeProblem(w, http.StatusBadRequest, "The request body is not valid JSON: it ends before the JSON value does; check its syntax.")
	case errors.As(err, &syntax):
		writeProblem(w, http.StatusBadRequest, fmt.Sprintf("The request body is not valid JSON (at byte %d); check its syntax.", syntax.Offset))
	case errors.As(err, &typ):
		writeProblem(w, http.StatusBadRequest, fmt.Sprintf("The field %q should be a %s, not a JSON %s.", typ.Field, typ.Type, typ.Value))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		writeProblem(w, http.StatusBadRequest, fmt.Sprintf("The request body has a field this endpoint does not take (%s); remove it.",
			strings.TrimPrefix(err.Error(), "json: unknown field ")))
	default:
		writeProblem(w, http.StatusBadRequest, fmt.Sprintf("The request body could not be read as JSON: %v.", err))
	}
	return false
}
