package main

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
)

// TestREADMEListsEveryVariable keeps the README's "Production" table and
// knownEnvironment naming the same variables, so that neither drifts.
func TestREADMEListsEveryVariable(t *testing.T) {
	for _, p := range readmeProblems(readRepoFile(t, "README.md")) {
		t.Error(p)
	}
}

// ...and the check can fail both ways.
func TestREADMECheckCatchesDrift(t *testing.T) {
	before, production, ok := strings.Cut(readRepoFile(t, "README.md"), "\n## Production\n")
	row := "\n| `INFUSE_SMTP_PORT` |"
	if !ok || !strings.Contains(production, row) {
		t.Fatalf("README.md's Production section has no row starting %q: change this test to drop a row the table has", row)
	}
	edited := func(section string) string { return before + "\n## Production\n" + section }
	dropped := regexp.MustCompile("\n\\| `INFUSE_SMTP_PORT` \\|[^\n]*").ReplaceAllString(production, "")
	if got := readmeProblems(edited(dropped)); len(got) != 1 || !strings.Contains(got[0], "INFUSE_SMTP_PORT") || !strings.Contains(got[0], "add a row") {
		t.Errorf("without INFUSE_SMTP_PORT's row: %q; want one problem asking for its row", got)
	}
	added := strings.Replace(production, row, "\n| `INFUSE_SMTP_PROT` | worker | | a typo |"+row, 1)
	if got := readmeProblems(edited(added)); len(got) != 1 || !strings.Contains(got[0], "INFUSE_SMTP_PROT") || !strings.Contains(got[0], "does not read") {
		t.Errorf("with a row for INFUSE_SMTP_PROT: %q; want one problem about it", got)
	}
}

var tableName = regexp.MustCompile("(?m)^\\| `([A-Z][A-Z0-9_]*\\*?)` \\|")

// readmeProblems compares the variables named in the first column of the
// tables of the README's "Production" section with knownEnvironment.
func readmeProblems(readme string) []string {
	_, section, ok := strings.Cut(readme, "\n## Production\n")
	if !ok {
		return []string{`README.md has no "## Production" section to list the environment variables in`}
	}
	if next := strings.Index(section, "\n## "); next >= 0 {
		section = section[:next]
	}
	listed := map[string]bool{}
	for _, m := range tableName.FindAllStringSubmatch(section, -1) {
		listed[m[1]] = true
	}
	var problems []string
	for _, v := range knownEnvironment {
		if !listed[v.name] {
			problems = append(problems, "README.md's Production section does not list "+v.name+", which the binary reads: "+
				"add a row (| `"+v.name+"` | who reads it | default | what it is |) to its table")
		}
		delete(listed, v.name)
	}
	for name := range listed {
		problems = append(problems, "README.md's Production table lists "+name+", which the binary does not read: "+
			"remove the row, or, if it does read it, add it to knownEnvironment (cmd/infuse/environment.go)")
	}
	slices.Sort(problems)
	return problems
}

// TestEnvironmentListsEveryInfuseVariable fails when this package's code
// names an INFUSE_* variable that knownEnvironment does not list: the list
// is what the compose check and the README are held to.
func TestEnvironmentListsEveryInfuseVariable(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			names = append(names, infuseNames(t, f, nil)...)
		}
	}
	if !slices.Contains(names, envSMTPHost) {
		t.Fatalf("found no %s in %s: the search is broken", envSMTPHost, strings.Join(files, ", "))
	}
	for _, n := range names {
		if !knownVariable(n) {
			t.Errorf("the code reads %s, which knownEnvironment (environment.go) does not list: add it there, with a line "+
				"saying what it is, and to the README's Production table", n)
		}
	}
	// The search finds a name however it is written.
	src := "package main\nconst envNew = \"INFUSE_NEW_SETTING\"\nvar _ = \"INFUSE_SMTP_HOST is not a name\"\n"
	if got := infuseNames(t, "new.go", []byte(src)); !slices.Equal(got, []string{"INFUSE_NEW_SETTING"}) {
		t.Errorf("names in %q: %q, want [INFUSE_NEW_SETTING]", src, got)
	}
}

var infuseName = regexp.MustCompile(`^INFUSE_[A-Z0-9_]+$`)

// infuseNames returns the string literals of a Go file (src, or else the
// file's contents) that are whole INFUSE_* names.
func infuseNames(t *testing.T, filename string, src []byte) []string {
	t.Helper()
	var source any
	if src != nil {
		source = src
	}
	f, err := parser.ParseFile(token.NewFileSet(), filename, source, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			if s, err := strconv.Unquote(lit.Value); err == nil && infuseName.MatchString(s) {
				names = append(names, s)
			}
		}
		return true
	})
	return names
}

// INFUSE_WORKER_CACHE: unset leaves the SDK's size; a whole number of 100
// or more is the size; anything else is refused, saying what to give.
func TestWorkerCacheFromEnv(t *testing.T) {
	for v, want := range map[string]int{"": 0, " 2000 ": 2000, "100": 100} {
		t.Setenv(envWorkerCache, v)
		n, set, err := workerCacheFromEnv()
		if err != nil || n != want || set != (want != 0) {
			t.Errorf("%s=%q: %d, %v, %v; want %d, %v, no error", envWorkerCache, v, n, set, err, want, want != 0)
		}
	}
	for _, v := range []string{"0", "1", "99", "-5", "lots", "1e4", "2000MB"} {
		t.Setenv(envWorkerCache, v)
		if _, set, err := workerCacheFromEnv(); err == nil || set || !errors.Is(err, apperr.ErrInvalid) ||
			!strings.Contains(err.Error(), envWorkerCache) || !strings.Contains(err.Error(), "whole number") {
			t.Errorf("%s=%q: %v, %v; want it refused as invalid, naming the variable and what to give", envWorkerCache, v, set, err)
		}
	}
}
