package main

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/programme"
)

// emit prints v as JSON with --json, and as text through text otherwise.
func (c *cli) emit(v any, text func(w io.Writer)) error {
	if c.jsonOut {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(c.stdout)
	return nil
}

// table prints aligned columns.
func table(w io.Writer, header []string, rows [][]string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
}

// when shows a time in Europe/London, where the programme happens.
func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(programme.London).Format("2006-01-02 15:04")
}

// day shows a date in Europe/London.
func day(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(programme.London).Format("2006-01-02")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func idOrDash(id uuid.UUID) string {
	if id == uuid.Nil {
		return "-"
	}
	return id.String()
}

// counts shows a map of counts as "a 2, b 1", largest first.
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", orDash(k), m[k])
	}
	return strings.Join(parts, ", ")
}

// parseTime reads a date or time given for flag.
func parseTime(flag, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, usage("%s is required (a date such as 2026-09-13, or 2026-09-13T17:00)", flag)
	}
	if t, ok := commands.ParseTime(s); ok {
		return t, nil
	}
	return time.Time{}, usage("%s %q is not a date or time: use %s", flag, s, commands.TimeFormats)
}
