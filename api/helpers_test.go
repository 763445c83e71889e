package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/infuse-cymru/journeys/dev/testenv"
	"github.com/infuse-cymru/journeys/internal/auth"
	"github.com/infuse-cymru/journeys/internal/idempotency"
)

// Every request of this package's tests goes through apiClient.do, which
// checks the response against /openapi.json: a status, header or body the
// document does not describe fails the test.

var registerDecoders sync.Once

// apiClient is an API under test and the OpenAPI router of the document it serves.
type apiClient struct {
	h      http.Handler
	router routers.Router
}

func newClient(t *testing.T, h http.Handler) *apiClient {
	t.Helper()
	registerDecoders.Do(func() {
		// kin-openapi knows no iCalendar; the body is checked by the tests.
		openapi3filter.RegisterBodyDecoder("text/calendar", openapi3filter.FileBodyDecoder)
	})
	return &apiClient{h: h, router: openAPIRouter(t, h)}
}

// openAPIRouter loads the document the API serves and checks it is valid.
func openAPIRouter(t *testing.T, h http.Handler) routers.Router {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET /openapi.json = %d %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
	if err != nil {
		t.Fatalf("loading /openapi.json: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("/openapi.json is not a valid OpenAPI document: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: "http://example.com"}} // httptest's host
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return router
}

// call is one request.
type call struct {
	method, path string
	body         string
	contentType  string // application/json when empty and there is a body
	token        string // Authorization: Bearer token
	raw          string // an Authorization header as is
	session      string // the session cookie's value
	csrf         string // X-CSRF-Token
	key          string // Idempotency-Key
}

// do sends c and checks the response against /openapi.json.
func (a *apiClient) do(t testing.TB, c call) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if c.body != "" {
		body = strings.NewReader(c.body)
	}
	req := httptest.NewRequest(c.method, c.path, body)
	if c.body != "" {
		ct := c.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.raw != "" {
		req.Header.Set("Authorization", c.raw)
	}
	if c.session != "" {
		req.AddCookie(&http.Cookie{Name: auth.SessionCookie, Value: c.session})
	}
	if c.csrf != "" {
		req.Header.Set(CSRFHeader, c.csrf)
	}
	if c.key != "" {
		req.Header.Set(idempotency.Header, c.key)
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	a.validate(t, req, rec)
	return rec
}

func (a *apiClient) validate(t testing.TB, req *http.Request, rec *httptest.ResponseRecorder) {
	t.Helper()
	route, params, err := a.router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s is not in /openapi.json: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s → %d does not match /openapi.json: %v\nbody: %s", req.Method, req.URL.Path, rec.Code, err, rec.Body)
		return
	}
	reached.Store(answered(route.Operation.OperationID, rec.Code), true)
}

// reached holds each operation and status (answered) that a test's
// request got, valid by the document, in this run.
var reached sync.Map

func answered(operationID string, status int) string {
	return fmt.Sprintf("%s %d", operationID, status)
}

// unreachedSuccesses names the routes whose success status no request
// reached.
func unreachedSuccesses(routes []route, got func(answer string) bool) []string {
	var out []string
	for _, rt := range routes {
		if a := answered(rt.op.id, cmp.Or(rt.op.status, http.StatusOK)); !got(a) {
			out = append(out, fmt.Sprintf("%s (%s): no test got its success answer through apiClient.do", rt.pattern, a))
		}
	}
	return out
}

// everySuccessReached is run after the package's tests (TestMain): in a
// run of them all, some test must have got each route's success answer,
// valid by the document, so the document's description of every success
// is checked against a real answer.
func everySuccessReached() bool {
	if !testenv.WholeRun() {
		return true
	}
	missing := unreachedSuccesses(slices.Concat((&handler{}).routes(), (&handler{}).system()), func(a string) bool {
		_, ok := reached.Load(a)
		return ok
	})
	for _, m := range missing {
		fmt.Fprintln(os.Stderr, "FAIL: /openapi.json:", m)
	}
	return len(missing) == 0
}

// checkProblem checks rec is a problem+json answer of status with a detail
// a person can act on.
func checkProblem(t testing.TB, rec *httptest.ResponseRecorder, status int) Problem {
	t.Helper()
	if rec.Code != status {
		t.Errorf("status %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != problemContentType {
		t.Errorf("Content-Type %q, want %s", ct, problemContentType)
	}
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("problem body %q: %v", rec.Body, err)
	}
	if p.Status != status || p.Title != http.StatusText(status) || p.Type == "" || len(p.Detail) < 20 {
		t.Errorf("problem %+v for status %d", p, status)
	}
	return p
}

// decode reads a JSON answer of status want into v.
func decode(t testing.TB, rec *httptest.ResponseRecorder, want int, v any) {
	t.Helper()
	if rec.Code != want {
		t.Fatalf("status %d, want %d: %s", rec.Code, want, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatal(err)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
