package programme

import (
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sync"
)

// embedded holds every released programme version, one file each, named
// "<id>-v<version>.yaml". Released files must not change in ways that move
// dates; add a new version instead.
//
//go:embed programmes/*.yaml
var embedded embed.FS

// DefaultID is the programme Default returns the newest version of.
const DefaultID = "infuse"

type registry struct {
	byID map[string]map[int]*Programme
}

// loadRegistry parses every embedded file once; programmes are read-only
// after that, so they are shared freely.
var loadRegistry = sync.OnceValues(func() (*registry, error) { return parseAll(embedded) })

func parseAll(fsys fs.FS) (*registry, error) {
	r := &registry{byID: map[string]map[int]*Programme{}}
	names, err := fs.Glob(fsys, "programmes/*.yaml")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		p, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		// The file name is how people find a version; keep it honest.
		if want := fmt.Sprintf("%s-v%d.yaml", p.ID, p.Version); path.Base(name) != want {
			return nil, fmt.Errorf("%s: holds programme %q version %d, so it must be named %s", name, p.ID, p.Version, want)
		}
		if r.byID[p.ID] == nil {
			r.byID[p.ID] = map[int]*Programme{}
		}
		r.byID[p.ID][p.Version] = p
	}
	return r, nil
}

// Lookup returns an embedded programme version. Journeys pin the version
// they started with and look it up again whenever they are rescheduled.
func Lookup(id string, version int) (*Programme, error) {
	r, err := loadRegistry()
	if err != nil {
		return nil, fmt.Errorf("embedded programme data is invalid: %w", err)
	}
	versions, ok := r.byID[id]
	if !ok {
		return nil, fmt.Errorf("no programme %q in this build: known programmes are %v", id, slices.Sorted(maps.Keys(r.byID)))
	}
	p, ok := versions[version]
	if !ok {
		return nil, fmt.Errorf("programme %q has no version %d in this build: known versions are %v (was the file removed after journeys started on it?)",
			id, version, slices.Sorted(maps.Keys(versions)))
	}
	return p, nil
}

// Latest returns the newest embedded version of a programme: the one new
// intakes should pin.
func Latest(id string) (*Programme, error) {
	r, err := loadRegistry()
	if err != nil {
		return nil, fmt.Errorf("embedded programme data is invalid: %w", err)
	}
	versions, ok := r.byID[id]
	if !ok {
		return nil, fmt.Errorf("no programme %q in this build: known programmes are %v", id, slices.Sorted(maps.Keys(r.byID)))
	}
	return versions[slices.Max(slices.Collect(maps.Keys(versions)))], nil
}

// Default returns the newest Infuse version. It panics only if the embedded
// data is invalid, which TestEmbeddedProgrammesAreValid rules out before a
// release.
func Default() *Programme {
	p, err := Latest(DefaultID)
	if err != nil {
		panic(err)
	}
	return p
}
