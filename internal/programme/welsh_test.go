package programme

import (
	"fmt"
	"io/fs"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/infuse-cymru/journeys/dev/welsh"
)

// Every Welsh text of the embedded programmes and their messages (a
// "cy:" value anywhere in the files) is spelt right.
func TestWelshIsSpeltRight(t *testing.T) {
	var texts []welsh.Text
	for _, fsys := range []fs.FS{embedded, messageFiles} {
		err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := fs.ReadFile(fsys, name)
			if err != nil {
				return err
			}
			var doc any
			if err := yaml.Unmarshal(data, &doc); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			texts = append(texts, welshOf(name, doc)...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(texts) < 20 {
		t.Fatalf("only %d Welsh texts found in the programme files", len(texts))
	}
	welsh.CheckSpelling(t, texts)
}

// welshOf is every string under a "cy" key in v (a name, or a message's
// subject and body), named by its path.
func welshOf(path string, v any) []welsh.Text {
	return walk(path, v, false)
}

func walk(path string, v any, inWelsh bool) []welsh.Text {
	var out []welsh.Text
	switch v := v.(type) {
	case string:
		if inWelsh {
			out = append(out, welsh.Text{Where: path, Welsh: v})
		}
	case map[string]any:
		for k, x := range v {
			out = append(out, walk(path+"."+k, x, inWelsh || k == "cy")...)
		}
	case []any:
		for i, x := range v {
			out = append(out, walk(fmt.Sprintf("%s[%d]", path, i), x, inWelsh)...)
		}
	}
	return out
}
