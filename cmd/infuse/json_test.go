package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/spf13/cobra"

	"github.com/infuse-cymru/journeys/dev/testenv"
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

// checkJSONOutput checks the style of a command's successful --json
// output, and notes the command as checked (jsonChecked).
func checkJSONOutput(t testing.TB, args []string, r result) {
	t.Helper()
	if r.code == 0 && slices.Contains(args, "--json") && strings.TrimSpace(r.stdout) != "" {
		checkJSONStyle(t, "infuse "+strings.Join(args, " "), r.stdout)
		if cmd, _, err := (&cli{}).rootCommand().Find(args); err == nil {
			jsonChecked.Store(cmd.CommandPath(), true)
		}
	}
}

// jsonChecked holds the path ("infuse intake list") of every command whose
// --json output checkJSONOutput has checked in this run.
var jsonChecked sync.Map

// jsonExempt are the commands that take --json (every command does: it is
// the root's) whose output the tests need not check, and why.
var jsonExempt = map[string]string{
	"infuse dev":          "a server: it runs until stopped and prints no result",
	"infuse worker":       "a server: it runs until stopped and prints no result",
	"infuse api":          "a server: it runs until stopped and prints no result",
	"infuse probe http":   "a container health check: its exit code is the answer, and it prints no JSON",
	"infuse probe worker": "a container health check: its exit code is the answer, and it prints no JSON",
}

// uncheckedJSON lists the leaf commands under root that take --json but
// are neither checked nor exempt, and the exemptions that name no such
// command or one checked anyway (left behind by a rename or a new test).
func uncheckedJSON(root *cobra.Command, checked func(path string) bool, exempt map[string]string) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() {
			for _, sub := range c.Commands() {
				walk(sub)
			}
			return
		}
		path := c.CommandPath()
		seen[path] = true
		_, isExempt := exempt[path]
		switch {
		case c.Flag("json") == nil:
		case checked(path) && isExempt:
			out = append(out, fmt.Sprintf("%s: exempt, but its --json output was checked; drop the exemption", path))
		case !checked(path) && !isExempt:
			out = append(out, fmt.Sprintf("%s: no test checked its --json output; run it with --json in a test (through world.infuse or runInfuse) or exempt it in jsonExempt, saying why", path))
		}
	}
	walk(root)
	for path := range exempt {
		if !seen[path] {
			out = append(out, fmt.Sprintf("%s: exempt in jsonExempt, but there is no such command", path))
		}
	}
	slices.Sort(out)
	return out
}

// everyJSONOutputChecked is run after the package's tests (TestMain): in a
// run of them all, every command's --json output must have been checked
// by one, or the command be exempt.
func everyJSONOutputChecked() bool {
	if !testenv.WholeRun() {
		return true
	}
	missing := uncheckedJSON((&cli{}).rootCommand(), func(path string) bool {
		_, ok := jsonChecked.Load(path)
		return ok
	}, jsonExempt)
	for _, m := range missing {
		fmt.Fprintln(os.Stderr, "FAIL: --json output:", m)
	}
	return len(missing) == 0
}

// TestUncheckedJSON: the check of the whole run names each leaf command
// taking --json that no test checked, and every stale exemption; a
// command without --json, a checked one and an exempt one pass.
func TestUncheckedJSON(t *testing.T) {
	root := &cobra.Command{Use: "infuse"}
	root.PersistentFlags().Bool("json", false, "")
	leaf := func(use string) *cobra.Command {
		return &cobra.Command{Use: use, Run: func(*cobra.Command, []string) {}}
	}
	group := &cobra.Command{Use: "intake"}
	group.AddCommand(leaf("list"), leaf("start"), leaf("edit"))
	root.AddCommand(group, leaf("dev"), leaf("replay"))
	bare := &cobra.Command{Use: "bare"}
	bare.AddCommand(leaf("plain"))
	checked := map[string]bool{"infuse intake list": true, "infuse replay": true}
	got := uncheckedJSON(root, func(p string) bool { return checked[p] },
		map[string]string{"infuse dev": "a server", "infuse replay": "stale", "infuse gone": "stale"})
	want := []string{"infuse gone: exempt", "infuse intake edit: no test", "infuse intake start: no test", "infuse replay: exempt, but"}
	if len(got) != len(want) {
		t.Fatalf("uncheckedJSON = %q, want %d lines starting %q", got, len(want), want)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("uncheckedJSON[%d] = %q, want it to start %q", i, got[i], want[i])
		}
	}
	if got := uncheckedJSON(bare, func(string) bool { return false }, nil); len(got) != 0 {
		t.Errorf("a command without --json: %q", got)
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
