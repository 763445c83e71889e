package main

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/infuse-cymru/journeys/internal/app/wire"
)

// dataKeys are the objects whose keys are data, not names: counts by
// state, authority, theme or outcome, and an e-mail's header fields.
var dataKeys = []string{"counts", "byLocalAuthority", "byTheme", "byState", "byOutcome", "header"}

// jsonStyle lists the keys of the JSON out that are not lowerCamelCase,
// the one style of every --json output and of the API (package wire).
func jsonStyle(out string) ([]string, error) {
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		return nil, err
	}
	var bad []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				if !wire.LowerCamelCase(k) {
					bad = append(bad, path+"."+k)
				}
				if !slices.Contains(dataKeys, k) {
					walk(path+"."+k, e)
				}
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		}
	}
	walk("", v)
	slices.Sort(bad)
	return bad, nil
}

// checkJSONStyle fails t for every key of out that is not lowerCamelCase.
func checkJSONStyle(t testing.TB, what, out string) {
	t.Helper()
	bad, err := jsonStyle(out)
	if err != nil {
		t.Errorf("%s: not JSON: %v\n%s", what, err, out)
	}
	if len(bad) > 0 {
		t.Errorf("%s: keys that are not lowerCamelCase: %v", what, bad)
	}
}

// checkJSONOutput checks the style of a command's successful --json output.
func checkJSONOutput(t testing.TB, args []string, r result) {
	t.Helper()
	if r.code == 0 && slices.Contains(args, "--json") && strings.TrimSpace(r.stdout) != "" {
		checkJSONStyle(t, "infuse "+strings.Join(args, " "), r.stdout)
	}
}

func TestJSONStyle(t *testing.T) {
	for out, want := range map[string]string{
		`{"journeyId":"x","counts":{"in_labs":2},"live":{"checkpoints":[{"id":"a"}]}}`: "[]",
		`[{"id":1},{"ID":2}]`:                             "[[1].ID]",
		`{"journey":{"JourneyID":"x"},"new_journey":"y"}`: "[.journey.JourneyID .new_journey]",
		`{"header":{"Content-Type":["text/plain"]}}`:      "[]",
	} {
		bad, err := jsonStyle(out)
		if err != nil || fmt.Sprint(bad) != want {
			t.Errorf("jsonStyle(%s) = %v, %v; want %s", out, bad, err, want)
		}
	}
}
