package programme

import (
	"io/fs"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzParse: whatever a programme file holds, Parse does not panic; it
// refuses it with a message, or what it accepts, written out again, is
// accepted again as the same programme. `go test -run '^$' -fuzz FuzzParse
// ./programme` explores further; the seeds (the embedded programmes and a
// few broken ones) run with the suite.
func FuzzParse(f *testing.F) {
	files, err := fs.Glob(embedded, "programmes/*.yaml")
	if err != nil || len(files) == 0 {
		f.Fatalf("no embedded programmes to seed from (%v)", err)
	}
	for _, name := range files {
		b, err := fs.ReadFile(embedded, name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte("id: x\nversion: 1\n---\nid: y\n"))
	f.Add([]byte("id: [\n"))
	f.Add([]byte("id: infuse\nversion: -1\nlabs: []\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse(data)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("Parse refused a file without saying why")
			}
			return
		}
		out, err := yaml.Marshal(p)
		if err != nil {
			t.Fatalf("an accepted programme cannot be written out: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("an accepted programme, written out, is refused: %v\n%s", err, out)
		}
		if again.ID != p.ID || again.Version != p.Version || len(again.Labs) != len(p.Labs) || again.Location().String() != p.Location().String() {
			t.Fatalf("written out and read again, %s v%d (%d labs, %s) became %s v%d (%d labs, %s)",
				p.ID, p.Version, len(p.Labs), p.Location(), again.ID, again.Version, len(again.Labs), again.Location())
		}
	})
}
