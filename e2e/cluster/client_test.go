package cluster_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// apiClient calls the API as people and systems do: with a bearer token
// and, for every change, an Idempotency-Key that stays the same when it
// retries. It retries what a dependency being down answers (no
// connection, 5xx, a 409 with Retry-After for a request still being
// handled) until ctx ends, which is what makes a worker or server restart
// invisible to the test's people: nothing they asked for may be lost or
// done twice.
type apiClient struct {
	base string
	http *http.Client
}

// answer is a final answer: its status and body.
type answer struct {
	status int
	body   []byte
}

func (a answer) ok() bool { return a.status >= 200 && a.status < 300 }

func (a answer) decode(v any) error {
	if !a.ok() {
		return fmt.Errorf("status %d: %s", a.status, a.body)
	}
	return json.Unmarshal(a.body, v)
}

// call sends a request and retries it until it gets a final answer.
func (c *apiClient) call(ctx context.Context, token, method, path, contentType string, body []byte) (answer, error) {
	key := uuid.NewString()
	wait := 100 * time.Millisecond
	for {
		a, err := c.once(ctx, token, method, path, contentType, key, body)
		if err == nil && !retryable(a) {
			return a, nil
		}
		select {
		case <-ctx.Done():
			return a, fmt.Errorf("%s %s: no final answer before the deadline (last: %v, status %d: %s)", method, path, err, a.status, a.body)
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

func (c *apiClient) once(ctx context.Context, token, method, path, contentType, key string, body []byte) (answer, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if method != http.MethodGet {
		req.Header.Set("Idempotency-Key", key)
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, body: b}
	if resp.StatusCode == http.StatusConflict && resp.Header.Get("Retry-After") != "" {
		a.status = -http.StatusConflict // still being handled: not an answer yet
	}
	return a, err
}

func retryable(a answer) bool { return a.status >= 500 || a.status < 0 }

// post sends v as JSON.
func (c *apiClient) post(ctx context.Context, token, path string, v any) (answer, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return answer{}, err
	}
	return c.call(ctx, token, http.MethodPost, path, "application/json", b)
}

func (c *apiClient) get(ctx context.Context, token, path string) (answer, error) {
	return c.call(ctx, token, http.MethodGet, path, "", nil)
}
