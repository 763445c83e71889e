// Package cluster runs the production topology on one machine, without
// Docker, for the tests and benchmarks that must see it: a Temporal server
// built from the go.temporal.io/server module this project pins, its
// persistence and visibility in fresh PostgreSQL databases set up by the
// server's own schema tool, and `infuse worker` and `infuse api` as
// separate processes of the built binary, configured only through the
// environment variables the README documents.
//
// Every process is a child that dies with the test binary (Linux's
// parent-death signal) and is stopped by the test's cleanup, and every
// database it creates is dropped at the end, so a run leaves nothing
// behind however it ends.
package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Binaries are the programs the cluster runs.
type Binaries struct {
	Temporal string // go.temporal.io/server/cmd/server
	SQLTool  string // go.temporal.io/server/cmd/tools/sql (temporal-sql-tool)
	Infuse   string // ./cmd/infuse
}

// BuildInfuseAt builds ./cmd/infuse as it was at an earlier commit of
// this repository, into dir: the build a rolling upgrade starts from. The
// commit's files are taken with git archive, so the repository is left as
// it was; the build shares Go's module and build caches.
func BuildInfuseAt(ctx context.Context, dir, commit string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	src := filepath.Join(dir, "infuse-"+commit)
	if err := os.MkdirAll(src, 0o750); err != nil {
		return "", err
	}
	// A shallow clone lacks the commit: ask the clone's origin for it.
	if exec.CommandContext(ctx, "git", "-C", root, "cat-file", "-e", commit+"^{commit}").Run() != nil {
		fetch := exec.CommandContext(ctx, "git", "-C", root, "fetch", "--quiet", "--depth=1", "origin", commit)
		if msg, err := fetch.CombinedOutput(); err != nil {
			return "", fmt.Errorf("commit %s is not in this clone and its origin would not give it (clone the whole history): %w\n%s", commit, err, msg)
		}
	}
	archive := exec.CommandContext(ctx, "sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", root, commit, src)
	if msg, err := archive.CombinedOutput(); err != nil {
		return "", fmt.Errorf("taking commit %s out of git: %w\n%s", commit, err, msg)
	}
	out := filepath.Join(dir, "infuse-at-"+commit)
	build := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/infuse")
	build.Dir = src
	if msg, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building infuse at %s: %w\n%s", commit, err, msg)
	}
	return out, nil
}

// buildPackage is a program Build builds, and its Binaries field.
type buildPackage struct {
	name, pkg string
	field     func(*Binaries) *string
}

// packages are what Build builds: the Temporal server's first.
var packages = []buildPackage{
	{"temporal-server", "go.temporal.io/server/cmd/server", func(b *Binaries) *string { return &b.Temporal }},
	{"temporal-sql-tool", "go.temporal.io/server/cmd/tools/sql", func(b *Binaries) *string { return &b.SQLTool }},
	{"infuse", "./cmd/infuse", func(b *Binaries) *string { return &b.Infuse }},
}

// Build builds the programs into dir with the go command, from this
// module (go.mod lists the server's commands as tools, so their versions
// are the ones the code is built and tested with). Go's build cache makes
// every build after the first quick; the first compiles the Temporal
// server, which takes minutes.
func Build(ctx context.Context, dir string) (Binaries, error) {
	return buildPackages(ctx, dir, packages)
}

// BuildTemporal builds only the Temporal server and its schema tool into
// dir (Binaries.Infuse is left empty), for a test that runs infuse itself.
func BuildTemporal(ctx context.Context, dir string) (Binaries, error) {
	return buildPackages(ctx, dir, packages[:2])
}

func buildPackages(ctx context.Context, dir string, pkgs []buildPackage) (Binaries, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return Binaries{}, err
	}
	var b Binaries
	for _, p := range pkgs {
		out := filepath.Join(dir, p.name)
		if err := build(ctx, root, out, p.pkg); err != nil {
			return Binaries{}, err
		}
		*p.field(&b) = out
	}
	return b, nil
}

// BuildInfuse builds only the infuse command into dir, for a test that
// runs the Temporal server in its own process, and returns its path.
func BuildInfuse(ctx context.Context, dir string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "infuse")
	return out, build(ctx, root, out, "./cmd/infuse")
}

func build(ctx context.Context, root, out, pkg string) error {
	// The go command's work files beside out: it then renames the linked
	// binary into place, which is atomic, where from another file system
	// it would copy it, and a copy cut short would be a truncated binary
	// that a later build takes for up to date (its build ID is at the
	// start), or that another test process starts half-written.
	tmp := filepath.Join(filepath.Dir(out), ".build-tmp")
	if err := os.MkdirAll(tmp, 0o750); err != nil {
		return fmt.Errorf("building %s: %w", pkg, err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOTMPDIR="+tmp)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building %s: %w\n%s", pkg, err, msg)
	}
	return nil
}

// moduleRoot is the folder of this module's go.mod.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("finding the module (is the go command on PATH?): %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("not inside the module: run from the repository")
	}
	return filepath.Dir(gomod), nil
}
