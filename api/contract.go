package api

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/infuse-cymru/journeys/internal/idempotency"
	"github.com/infuse-cymru/journeys/internal/store"
)

// /openapi.json is made from the route table (routes and system): each
// route's pattern, who may call it, the type its handler decodes and its op,
// which says what the document says of it and the type it answers. The
// types' schemas come from the Go types themselves (schemas.go). A route
// cannot be served without its entry in the document, nor answer a type the
// document does not describe: the tests validate every answer against it.
//
// api/openapi.json is the same document, for readers and for clients' code
// generators; `go generate ./api/` writes it and a test fails when it is not
// what the code makes.
//
//go:generate go run ./internal/writedoc openapi.json

// op is what the document says of a route.
type op struct {
	id, tag string
	// summary is what the route does; who may call it follows, from the
	// route's roles, unless who says it.
	summary, who string
	notes        string // the operation's description
	params       []param
	// status is the success's, 200 when 0; answer a value of the type of
	// its JSON body, says what it is; media the body's type if not JSON.
	status int
	answer any
	says   string
	media  string
	// also are other statuses answering the same type, and what each means.
	also map[int]string
	// headers sent with the success besides Idempotent-Replayed.
	headers []string
	// errs are error statuses besides those every route of its kind has
	// (see errorStatuses).
	errs []int
	// csv: the body is CSV, described so (the request body otherwise is the
	// type the handler decodes).
	csv string
}

// param is a path parameter other than {id}, or a query parameter.
type param struct {
	name, in, doc string
	schema        *openapi3.Schema
}

// endpoint is a route's handler and the type of the JSON body it decodes
// (nil for none).
type endpoint struct {
	serve http.HandlerFunc
	body  reflect.Type
}

// plain is a handler that reads no JSON body.
func plain(f http.HandlerFunc) endpoint { return endpoint{serve: f} }

// decoding serves act with the request's JSON body, once it decodes into B.
func decoding[B any](act func(http.ResponseWriter, *http.Request, B)) endpoint {
	return taking[B](func(w http.ResponseWriter, r *http.Request) {
		var body B
		if decodeBody(w, r, &body) {
			act(w, r, body)
		}
	})
}

// taking is serve, which decodes a JSON body B (with decodeBody) when it
// has checked what comes first: the document names B once for it.
func taking[B any](serve http.HandlerFunc) endpoint {
	return endpoint{serve: serve, body: reflect.TypeFor[B]()}
}

var (
	docOnce  sync.Once
	docBytes []byte
	docErr   error
)

// OpenAPIDocument is the OpenAPI 3 document served at /openapi.json.
func OpenAPIDocument() ([]byte, error) {
	docOnce.Do(func() {
		var doc *openapi3.T
		if doc, docErr = (&handler{}).document(); docErr == nil {
			docBytes, docErr = json.MarshalIndent(doc, "", "  ")
			docBytes = append(docBytes, '\n')
		}
	})
	return docBytes, docErr
}

func (h *handler) openAPI(w http.ResponseWriter, r *http.Request) {
	doc, err := OpenAPIDocument()
	if err != nil {
		h.internalError(w, r, "making the OpenAPI document", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(doc)
}

// document is the OpenAPI document of h's routes.
func (h *handler) document() (*openapi3.T, error) {
	return documentOf(slices.Concat(h.routes(), h.system()))
}

// documentOf is the OpenAPI document of routes.
func documentOf(routes []route) (*openapi3.T, error) {
	s := newSchemas()
	problem := s.of(Problem{})
	doc := &openapi3.T{
		OpenAPI:  "3.0.3",
		Info:     &openapi3.Info{Title: "Infuse Journeys API", Version: "0.3.0", Description: apiDescription},
		Servers:  openapi3.Servers{{URL: "/"}},
		Security: openapi3.SecurityRequirements{{"bearerToken": {}}, {"sessionCookie": {}}},
		Paths:    openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas:         s.components,
			Responses:       errorResponses(problem),
			Parameters:      changeParameters,
			SecuritySchemes: securitySchemes,
		},
	}
	untagged := map[string]bool{}
	for _, name := range tags {
		doc.Tags = append(doc.Tags, &openapi3.Tag{Name: name})
		untagged[name] = true
	}
	for _, rt := range routes {
		if !slices.Contains(tags, rt.op.tag) {
			return nil, fmt.Errorf("%s has the tag %q, which is not in the document's list (tags)", rt.pattern, rt.op.tag)
		}
		delete(untagged, rt.op.tag)
		method, path, _ := strings.Cut(rt.pattern, " ")
		o, err := rt.operation(s, path)
		if err != nil {
			return nil, err
		}
		item := doc.Paths.Value(path)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(path, item)
		}
		if item.GetOperation(method) != nil {
			return nil, fmt.Errorf("%s is in the route table twice", rt.pattern)
		}
		item.SetOperation(method, o)
	}
	for name := range untagged {
		return nil, fmt.Errorf("the tag %q of the document's list (tags) has no route", name)
	}
	if s.err != nil {
		return nil, s.err
	}
	if err := s.annotate(); err != nil {
		return nil, err
	}
	return doc, nil
}

// tags group the operations in the document, in this order; each route
// has one of them.
var tags = []string{"intakes", "reports", "people", "me", "journeys", "coach", "system"}

// operation is rt's operation in the document.
func (rt route) operation(s *schemas, path string) (*openapi3.Operation, error) {
	o := &openapi3.Operation{OperationID: rt.op.id, Tags: []string{rt.op.tag}, Description: rt.op.notes,
		Summary: rt.op.summary, Responses: openapi3.NewResponses()}
	if rt.access.public {
		o.Security = &openapi3.SecurityRequirements{}
	} else {
		o.Summary += " (" + cmp.Or(rt.op.who, whoMay(rt.access.roles)) + ")"
	}
	if strings.Contains(path, "{id}") {
		what, err := idOf(path)
		if err != nil {
			return nil, err
		}
		o.Parameters = append(o.Parameters, pathParam("id", "The "+what+"'s ID", uuidSchema()))
	}
	for _, p := range rt.op.params {
		pr := &openapi3.Parameter{Name: p.name, In: p.in, Required: p.in == "path", Description: p.doc, Schema: openapi3.NewSchemaRef("", p.schema)}
		o.Parameters = append(o.Parameters, &openapi3.ParameterRef{Value: pr})
	}
	if rt.access.changes {
		o.Parameters = append(o.Parameters, &openapi3.ParameterRef{Ref: "#/components/parameters/IdempotencyKey"},
			&openapi3.ParameterRef{Ref: "#/components/parameters/CSRFToken"})
	}
	switch {
	case rt.op.csv != "":
		o.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).
			WithContent(openapi3.NewContentWithSchema(&openapi3.Schema{Type: &openapi3.Types{"string"}, Description: rt.op.csv}, []string{"text/csv"}))}
	case rt.handler.body == reflect.TypeFor[struct{}]():
		o.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithDescription("None, or {}").
			WithContent(openapi3.NewContentWithJSONSchemaRef(s.of(struct{}{})))}
	case rt.handler.body != nil:
		o.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).
			WithContent(openapi3.NewContentWithJSONSchemaRef(s.of(reflect.New(rt.handler.body).Elem().Interface())))}
	}
	ok := openapi3.NewResponse().WithDescription(rt.op.says)
	switch {
	case rt.op.media != "":
		ok.WithContent(openapi3.NewContentWithSchema(openapi3.NewStringSchema(), []string{rt.op.media}))
	case rt.op.answer != nil:
		ok.WithContent(openapi3.NewContentWithJSONSchemaRef(s.of(rt.op.answer)))
	}
	ok.Headers = openapi3.Headers{}
	for _, name := range rt.op.headers {
		ok.Headers[name] = &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{Schema: openapi3.NewSchemaRef("", openapi3.NewStringSchema())}}}
	}
	if rt.access.changes {
		ok.Headers["Idempotent-Replayed"] = &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
			Description: "true when this is the stored answer to an earlier request with the same Idempotency-Key",
			Schema:      openapi3.NewSchemaRef("", openapi3.NewStringSchema().WithEnum("true"))}}}
	}
	if len(ok.Headers) == 0 {
		ok.Headers = nil
	}
	o.Responses.Set(strconv.Itoa(cmp.Or(rt.op.status, http.StatusOK)), &openapi3.ResponseRef{Value: ok})
	for status, says := range rt.op.also {
		also := *ok
		also.Description = &says
		o.Responses.Set(strconv.Itoa(status), &openapi3.ResponseRef{Value: &also})
	}
	for _, status := range rt.errorStatuses(path) {
		o.Responses.Set(strconv.Itoa(status), &openapi3.ResponseRef{Ref: "#/components/responses/" + errorNames[status]})
	}
	return o, nil
}

// errorStatuses are the error answers rt can give: a guarded route's
// (401, 403, 500, 503), a bad path ID's or query's (400) and unknown
// one's (404), a change's (a bad body 400, 413, 415; an Idempotency-Key
// still in use 409, reused 422), and those its op adds.
func (rt route) errorStatuses(path string) []int {
	if rt.access.public {
		return rt.op.errs
	}
	statuses := append([]int{401, 403, 500, 503}, rt.op.errs...)
	if strings.Contains(path, "{") {
		statuses = append(statuses, 400, 404)
	}
	for _, p := range rt.op.params {
		if p.in == "query" {
			statuses = append(statuses, 400)
		}
	}
	if rt.access.changes {
		statuses = append(statuses, 400, 409, 413, 415, 422)
	}
	slices.Sort(statuses)
	return slices.Compact(statuses)
}

// whoMay names the roles that may call a route, for its summary.
func whoMay(roles []store.Role) string {
	if len(roles) == len(anyone) {
		return "everyone"
	}
	return plural(roles)
}

// idOf is what the {id} of path names: an error for a path under none of
// the collections below, rather than a guess.
func idOf(path string) (string, error) {
	for prefix, what := range map[string]string{"/api/intakes/{id}": "intake", "/api/journeys/{id}": "journey", "/api/people/{id}": "person"} {
		if strings.HasPrefix(path, prefix) {
			return what, nil
		}
	}
	return "", fmt.Errorf("%s: what does its {id} name? Add its collection to idOf", path)
}

func uuidSchema() *openapi3.Schema { return openapi3.NewStringSchema().WithFormat("uuid") }

func pathParam(name, doc string, schema *openapi3.Schema) *openapi3.ParameterRef {
	return &openapi3.ParameterRef{Value: &openapi3.Parameter{Name: name, In: "path", Required: true, Description: doc,
		Schema: openapi3.NewSchemaRef("", schema)}}
}

const apiDescription = "The JSON API of Infuse Journeys, for other council systems and our own pages' scripts.\n\n" +
	"**Who you are.** Systems send an API token (`infuse token create`) as `Authorization: Bearer TOKEN`; people signed in at /signin carry the `infuse_session` cookie. A bad token is refused (401) even if a cookie is present.\n\n" +
	"**Who may do what.** Each operation's summary says which roles may call it (403 for another role). Coordinators see everything; a coach sees the journeys they coach; a participant their own. A journey you may not see answers 404, exactly like one that does not exist.\n\n" +
	"**Changes** (POST, PUT) need an `Idempotency-Key` header: a retry with the same key and body gets the first answer again (`Idempotent-Replayed: true`) and acts once; the same key with a different request is 422; while the first is still being handled, 409. Changes made with a browser session also need the page's `X-CSRF-Token`.\n\n" +
	"**Errors** are `application/problem+json` (RFC 9457): `detail` says what went wrong and what to do about it. Bodies are JSON (`Content-Type: application/json`, at most 1 MiB); unknown fields are refused. Times are RFC 3339; times you send may also be Europe/London local (`2027-01-13T10:00`) or dates."

// errorNames name the error answers in components.responses.
var errorNames = map[int]string{
	400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
	413: "PayloadTooLarge", 415: "UnsupportedMediaType", 422: "Unprocessable", 500: "InternalError", 503: "Unavailable",
}

// errorResponses are the error answers, each a problem.
func errorResponses(problem *openapi3.SchemaRef) openapi3.ResponseBodies {
	says := map[int]string{
		400: "The request is malformed: a bad ID in the path or a bad value in the query, a body that is not valid JSON, has unknown fields or wrong types, or a change without an Idempotency-Key; detail says which",
		401: "No credentials, or an API token or session that is unknown, revoked or expired",
		403: "Your role may not use this endpoint, or a browser session's change came without its X-CSRF-Token",
		404: "No such thing, or one you may not see (a journey you neither coach nor own answers exactly as one that does not exist)",
		409: "Refused in the current state (detail says why, e.g. the checkpoint is not open yet), or a request with the same Idempotency-Key is still being handled (retry after Retry-After seconds)",
		413: "The request body is too large (more than 1 MiB)",
		415: "The request body is not of the media type the endpoint takes",
		422: "Well formed, but the values are not acceptable (detail says which), or the Idempotency-Key was already used for a different request",
		500: "Something failed on the server; the details are in its log",
		503: "The server cannot reach its database or Temporal just now; nothing was done. Retry after the seconds Retry-After gives.",
	}
	headers := map[int][2]string{
		401: {"WWW-Authenticate", `Bearer realm="infuse"`},
		409: {"Retry-After", "Seconds to wait when the same Idempotency-Key is still being handled"},
		503: {"Retry-After", "Seconds to wait before retrying"},
	}
	out := openapi3.ResponseBodies{}
	for status, name := range errorNames {
		r := openapi3.NewResponse().WithDescription(says[status]).
			WithContent(openapi3.NewContentWithSchemaRef(problem, []string{problemContentType}))
		if h, ok := headers[status]; ok {
			schema := openapi3.NewIntegerSchema()
			if status == 401 {
				schema = openapi3.NewStringSchema()
			}
			r.Headers = openapi3.Headers{h[0]: &openapi3.HeaderRef{Value: &openapi3.Header{Parameter: openapi3.Parameter{
				Description: h[1], Schema: openapi3.NewSchemaRef("", schema)}}}}
		}
		out[name] = &openapi3.ResponseRef{Value: r}
	}
	return out
}

// changeParameters are the headers of a change.
var changeParameters = openapi3.ParametersMap{
	"IdempotencyKey": {Value: &openapi3.Parameter{Name: "Idempotency-Key", In: "header", Required: true,
		Description: "A key unique to this change (a new UUID will do), the same when retrying it: a retry gets the first answer (with Idempotent-Replayed: true) and acts once. Keys belong to the caller; reusing one for a different request is 422.",
		Schema:      openapi3.NewSchemaRef("", openapi3.NewStringSchema().WithMinLength(1).WithMaxLength(idempotency.MaxKeyLength))}},
	"CSRFToken": {Value: &openapi3.Parameter{Name: CSRFHeader, In: "header",
		Description: "Required when signed in with a browser session (the page gives the token); API tokens need none",
		Schema:      openapi3.NewSchemaRef("", openapi3.NewStringSchema())}},
}

var securitySchemes = openapi3.SecuritySchemes{
	"bearerToken": {Value: &openapi3.SecurityScheme{Type: "http", Scheme: "bearer",
		Description: "An API token from `infuse token create --person EMAIL --role ROLE --name NAME`; `infuse token revoke ID` stops it working."}},
	"sessionCookie": {Value: &openapi3.SecurityScheme{Type: "apiKey", In: "cookie", Name: "infuse_session",
		Description: "A browser session, started by a sign-in link e-mailed from /signin. Changes also need the X-CSRF-Token header."}},
}
