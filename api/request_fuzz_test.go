package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzDecodeJSON: whatever body a client sends, decoding it does not
// panic and either takes a value that says the same again when encoded and
// decoded, or answers 400, 413 or 415 as a problem whose detail is a
// sentence telling the client what to change, never the decoder's own
// words ("json: ..."). `go test -run '^$' -fuzz FuzzDecodeJSON ./api`
// explores further; the seeds run with the suite.
func FuzzDecodeJSON(f *testing.F) {
	f.Add(`{"name":"Cohort 2","opensAt":"2027-01-04","closesAt":"2027-01-18","startsOn":"2027-02-01","capacity":20}`)
	f.Add(`{"name":"Carfan","capacity":"20"}`)
	f.Add(`{"name":"x","coordinatorId":"not-a-uuid"}`)
	f.Add(`{"name":"x"} {"name":"y"}`)
	f.Add(`{"name":"x","admin":true}`)
	f.Add(`{"name":"\ud800"}`)
	f.Add(`{"capacity":1e400}`)
	f.Add(`{"capacity":-1}`)
	f.Add(`[]`)
	f.Add(`null`)
	f.Add(`{`)
	f.Add(``)
	f.Add(strings.Repeat(`[`, 20000))
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/api/intakes", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		var got CreateIntakeRequest
		if decodeJSON(rec, req, &got, 4096) {
			again, err := json.Marshal(got)
			if err != nil {
				t.Fatalf("a decoded body does not encode: %v", err)
			}
			var back CreateIntakeRequest
			if err := json.Unmarshal(again, &back); err != nil || !reflect.DeepEqual(back, got) {
				t.Fatalf("decoded %+v, which reads back as %+v (%v)", got, back, err)
			}
			return
		}
		if !slices.Contains([]int{http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType}, rec.Code) {
			t.Fatalf("a refused body answered %d", rec.Code)
		}
		if ct := rec.Header().Get("Content-Type"); ct != problemContentType {
			t.Fatalf("a refusal is %s, want %s", ct, problemContentType)
		}
		var p Problem
		dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil || p.Status != rec.Code {
			t.Fatalf("the refusal's body %q is not its problem (%v)", rec.Body, err)
		}
		if p.Detail == "" || !strings.HasSuffix(p.Detail, ".") || strings.Contains(p.Detail, "json: ") {
			t.Fatalf("the refusal says %q: want a sentence in our words", p.Detail)
		}
	})
}
