package main

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	composecli "github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/server/common/dynamicconfig"

	"github.com/infuse-cymru/journeys/internal/logging"
	"github.com/infuse-cymru/journeys/internal/temporalx"
)

// The stack and its example settings, relative to this package.
const (
	repoRoot    = "../.."
	composeFile = "docker-compose.yml"
	envExample  = ".env.example"
)

// Docker Compose's depends_on conditions.
const (
	healthy   = types.ServiceConditionHealthy
	completed = types.ServiceConditionCompletedSuccessfully
)

// wantServices is every service of the stack, by the name the others use.
var wantServices = []string{
	"postgres", "temporal-schema", "temporal", "temporal-namespace", "temporal-ui", "mailpit",
	"worker", "api", "coordinator",
}

// mustWait is each wait the stack cannot start without: service waits for
// on to reach condition.
var mustWait = []struct{ service, on, condition string }{
	{"temporal-schema", "postgres", healthy},
	{"temporal", "temporal-schema", completed}, // the schema is in place before the server starts
	{"temporal-namespace", "temporal", healthy},
	{"temporal-ui", "temporal", healthy},
	{"worker", "postgres", healthy},
	{"worker", "temporal-namespace", completed},
	{"api", "postgres", healthy},
	{"api", "temporal-namespace", completed},
	{"api", "worker", healthy}, // the worker registers the search attributes
	{"coordinator", "postgres", healthy},
	{"coordinator", "temporal-namespace", completed},
}

// publicService is the one service reachable from beyond the host, and its port.
const (
	publicService = "api"
	publicPort    = 8080
)

// TestComposeFile loads docker-compose.yml with the Compose specification's
// own loader (schema, interpolation, normalisation, consistency: what
// `docker compose up` does first), with .env.example as the .env, and
// checks what the loader cannot know: see stackProblems.
func TestComposeFile(t *testing.T) {
	compose, env := readStack(t)
	for _, p := range stackProblems(t, compose, env) {
		t.Error(p)
	}
}

// TestComposeChecksCatchTypos makes the mistakes each check is there for,
// one at a time, and expects the check to say so: a check that cannot fail
// proves nothing.
func TestComposeChecksCatchTypos(t *testing.T) {
	compose, env := readStack(t)
	cases := []struct {
		name     string
		file     string // composeFile or envExample
		old, new string // the mistake
		want     string // what the problem report must say
	}{
		{name: "a service renamed", file: composeFile,
			old: "\n  temporal-ui:\n", new: "\n  temporal-web:\n", want: `no service "temporal-ui"`},
		{name: "a dependency misspelt", file: composeFile,
			old: "      temporal-schema:\n        condition", new: "      temporal-schemas:\n        condition", want: "temporal-schemas"},
		{name: "the server not waiting for its schema", file: composeFile,
			old:  "      temporal-schema:\n        condition: service_completed_successfully",
			new:  "      temporal-schema:\n        condition: service_started",
			want: `"temporal" must wait for "temporal-schema" to be service_completed_successfully`},
		{name: "a condition misspelt", file: composeFile,
			old: "condition: service_healthy", new: "condition: service_healty", want: "condition value must be one of"},
		{name: "a variable infuse does not read, in the YAML", file: composeFile,
			old: "    TEMPORAL_ADDRESS: temporal:7233\n    TEMPORAL_NAMESPACE", new: "    TEMPORAL_ADRESS: temporal:7233\n    TEMPORAL_NAMESPACE",
			want: "TEMPORAL_ADRESS, which infuse does not read"},
		{name: "a variable infuse does not read, in the env file", file: envExample,
			old: "INFUSE_SMTP_HOST=mailpit", new: "INFUSE_SMTP_HOTS=mailpit", want: "INFUSE_SMTP_HOTS, which infuse does not read"},
		{name: "a value infuse refuses", file: envExample,
			old: "INFUSE_SMTP_TLS=none", new: "INFUSE_SMTP_TLS=nonee", want: `"worker" would refuse its e-mail settings`},
		{name: "a required secret missing", file: envExample,
			old: "PGPASSWORD=", new: "#PGPASSWORD=", want: "set PGPASSWORD in .env"},
		{name: "Temporal's address misspelt", file: composeFile,
			old: "    TEMPORAL_ADDRESS: temporal:7233\n    TEMPORAL_NAMESPACE", new: "    TEMPORAL_ADDRESS: temporl:7233\n    TEMPORAL_NAMESPACE",
			want: `TEMPORAL_ADDRESS "temporl:7233"`},
		{name: "the database host misspelt", file: composeFile,
			old: "@postgres:5432/infuse", new: "@postgress:5432/infuse", want: `INFUSE_DATABASE_URL's host "postgress"`},
		{name: "the UI on another namespace", file: composeFile,
			old: "TEMPORAL_DEFAULT_NAMESPACE: ${TEMPORAL_NAMESPACE:-infuse}", new: "TEMPORAL_DEFAULT_NAMESPACE: default",
			want: `namespace "default"`},
		{name: "Temporal's frontend published", file: composeFile,
			old: "    image: temporalio/server:1.32.1\n", new: "    image: temporalio/server:1.32.1\n    ports:\n      - \"7233:7233\"\n",
			want: `"temporal" publishes port 7233 on 0.0.0.0`},
		{name: "the UI published beyond loopback", file: composeFile,
			old: `"127.0.0.1:8233:8080"`, new: `"8233:8080"`, want: `"temporal-ui" publishes port 8233 on 0.0.0.0`},
		{name: "the API's port not the one it listens on", file: composeFile,
			old: `"8080:8080"`, new: `"8080:8081"`, want: "port 8080"},
		{name: "host networking", file: composeFile,
			old: "  mailpit:\n    image: axllent/mailpit:v1.30.5\n", new: "  mailpit:\n    image: axllent/mailpit:v1.30.5\n    network_mode: host\n",
			want: `"mailpit" uses the host's network`},
		{name: "a long-running service without a healthcheck", file: composeFile,
			old: `      test: ["CMD", "/infuse", "--timeout", "10s", "probe", "worker"]`, new: `      disable: true`,
			want: `"worker" runs continuously but has no healthcheck`},
		{name: "a service with no restart policy", file: composeFile,
			old: "    stop_grace_period: 30s\n", new: "    stop_grace_period: 30s\n    restart: on-failure\n",
			want: `"worker" has restart "on-failure"`},
		{name: "the server image not go.mod's release", file: composeFile,
			old: "temporalio/server:1.32.1", new: "temporalio/server:1.31.0", want: `temporalio/server:1.31.0, but go.mod builds go.temporal.io/server v1.32.1`},
		{name: "the schema tools not the server's release", file: composeFile,
			old: "    image: temporalio/admin-tools:1.32.1\n    depends_on:\n      postgres", new: "    image: temporalio/admin-tools:1.30.1\n    depends_on:\n      postgres",
			want: "temporalio/admin-tools:1.30.1"},
		{name: "the UI not go.mod's release", file: composeFile,
			old: "temporalio/ui:2.55.0", new: "temporalio/ui:2.34.0", want: "temporalio/ui:2.34.0"},
		{name: "a script path misspelt", file: composeFile,
			old: "/etc/infuse/temporal/setup-schema.sh", new: "/etc/infuse/temporal/setup_schema.sh", want: "setup_schema.sh"},
		{name: "the dynamic config path misspelt", file: composeFile,
			old: "DYNAMIC_CONFIG_FILE_PATH: /etc/infuse/temporal/dynamicconfig.yaml", new: "DYNAMIC_CONFIG_FILE_PATH: /etc/infuse/temporal/dynamic.yaml",
			want: "/etc/infuse/temporal/dynamic.yaml"},
		{name: "an interpolated variable the example does not document", file: composeFile,
			old: "RETENTION: 720h", new: "RETENTION: ${TEMPORAL_RETENTION:-720h}", want: "TEMPORAL_RETENTION"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			compose, env := compose, env
			target := &compose
			if c.file == envExample {
				target = &env
			}
			if !strings.Contains(*target, c.old) {
				t.Fatalf("%s no longer contains %q: change this case to make the same mistake in the file as it is now", c.file, c.old)
			}
			*target = strings.Replace(*target, c.old, c.new, 1)
			problems := stackProblems(t, compose, env)
			for _, p := range problems {
				if strings.Contains(p, c.want) {
					return
				}
			}
			t.Errorf("with %q instead of %q in %s, no problem mentions %q; the problems were:\n%s",
				c.new, c.old, c.file, c.want, strings.Join(problems, "\n"))
		})
	}
}

// readStack returns the compose file and the example env file as committed.
func readStack(t *testing.T) (compose, env string) {
	t.Helper()
	return readRepoFile(t, composeFile), readRepoFile(t, envExample)
}

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// loadStack loads compose as `docker compose up` would in a checkout where
// env is the .env (the README says to copy .env.example there). The
// checkout is a temporary directory holding links to the repository's
// files, so the real .env of whoever runs the test is left out.
func loadStack(t *testing.T, compose, env string) (*types.Project, error) {
	t.Helper()
	dir := t.TempDir()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case ".git", ".env", composeFile:
			continue
		}
		if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	for name, content := range map[string]string{composeFile: compose, ".env": env} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	opts, err := composecli.NewProjectOptions([]string{filepath.Join(dir, composeFile)},
		composecli.WithWorkingDirectory(dir),
		composecli.WithEnvFiles(filepath.Join(dir, ".env")),
		composecli.WithDotEnv,
		composecli.WithResolvedPaths(true),
		composecli.WithProfiles([]string{"*"}), // the on-demand coordinator too
	)
	if err != nil {
		t.Fatal(err)
	}
	return opts.LoadProject(context.Background())
}

// stackProblems loads the stack and says what is wrong with it, each
// problem a sentence saying what to fix.
func stackProblems(t *testing.T, compose, env string) []string {
	t.Helper()
	p, err := loadStack(t, compose, env)
	if err != nil {
		return []string{fmt.Sprintf("%s does not load as Docker Compose would load it, with %s as .env: %v", composeFile, envExample, err)}
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	for _, name := range wantServices {
		if _, ok := p.Services[name]; !ok {
			add("%s has no service %q (the stack needs it, and other services name it)", composeFile, name)
		}
	}
	for _, w := range mustWait {
		if got := p.Services[w.service].DependsOn[w.on].Condition; got != w.condition {
			add("%q must wait for %q to be %s (depends_on), not %q", w.service, w.on, w.condition, got)
		}
	}
	for _, s := range p.Services {
		problems = append(problems, serviceProblems(p, s)...)
		if s.Build != nil {
			problems = append(problems, settingsProblems(t, s)...)
		}
	}
	problems = append(problems, versionProblems(p)...)
	problems = append(problems, agreementProblems(p)...)
	problems = append(problems, documentedProblems(compose, env)...)
	slices.Sort(problems)
	return problems
}

// settingsProblems gives this process the environment s's containers get
// and reads it as the binary does: a variable it knows is no use with a
// value it refuses. None of this machine's own settings take part.
func settingsProblems(t *testing.T, s types.ServiceConfig) []string {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); knownVariable(k) {
			t.Setenv(k, "") // restored when the test ends
			os.Unsetenv(k)
		}
	}
	// Nor this machine's Temporal profile, unless the service names one.
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "absent.toml"))
	for k, v := range s.Environment {
		if v != nil {
			t.Setenv(k, *v)
		}
	}
	var problems []string
	refused := func(what string, err error) {
		if err != nil {
			problems = append(problems, fmt.Sprintf("%q would refuse its %s: %v", s.Name, what, err))
		}
	}
	_, _, err := mailFromEnv()
	refused("e-mail settings", err)
	_, _, err = rehearsalFromEnv()
	refused("rehearsal settings", err)
	_, err = temporalx.ClientOptionsFromEnv()
	refused("Temporal settings", err)
	if level := os.Getenv(envLogLevel); level != "" {
		_, err = logging.New(level, false)
		refused(envLogLevel, err)
	}
	if db := os.Getenv(envDatabase); isPostgres(db) {
		_, err = pgxpool.ParseConfig(db) // with the PG* variables, as pgstore.Open reads them
		refused("database settings", err)
	}
	return problems
}

// longRunning reports whether s stays up (and so needs a healthcheck) rather
// than running to completion: its restart policy says which, so the policy
// must be explicit.
func longRunning(s types.ServiceConfig) bool {
	return s.Restart == types.RestartPolicyUnlessStopped || s.Restart == types.RestartPolicyAlways
}

// serviceProblems checks one service on its own.
func serviceProblems(p *types.Project, s types.ServiceConfig) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	switch s.Restart {
	case types.RestartPolicyUnlessStopped, types.RestartPolicyAlways, types.RestartPolicyNo:
	default:
		add("%q has restart %q: say unless-stopped for a service that stays up (it then needs a healthcheck), "+
			"or \"no\" for a job that runs to completion", s.Name, s.Restart)
	}
	if longRunning(s) && (s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) == 0 || s.HealthCheck.Test[0] == "NONE") {
		add("%q runs continuously but has no healthcheck: add one, so what depends on it waits until it works", s.Name)
	}
	for on, d := range s.DependsOn {
		dep, ok := p.Services[on]
		switch {
		case !ok:
			add("%q depends on %q, which is no service of the stack", s.Name, on)
		case longRunning(dep) && d.Condition != healthy:
			add("%q waits for %q to be %s: wait for service_healthy (started is not ready)", s.Name, on, d.Condition)
		case !longRunning(dep) && d.Condition != completed:
			add("%q waits for the job %q to be %s: wait for service_completed_successfully", s.Name, on, d.Condition)
		}
	}
	if s.NetworkMode == "host" {
		add("%q uses the host's network, so everything it listens on is published: remove network_mode", s.Name)
	}
	for _, port := range s.Ports {
		// A port with no host port ("9090") is published all the same, on
		// a port Docker picks.
		if !isLoopback(port.HostIP) && s.Name != publicService {
			add("%q publishes port %s on %s: only %q may be reachable beyond this host; "+
				"bind it to 127.0.0.1 (\"127.0.0.1:%s:%d\") or publish nothing", s.Name, port.Published, orAll(port.HostIP), publicService, port.Published, port.Target)
		}
		if s.Name == publicService && port.Target != publicPort {
			add("%q publishes its container port %d, but it listens on port %d (its --http)", s.Name, port.Target, publicPort)
		}
	}
	if s.Name == publicService && !slices.ContainsFunc(s.Ports, func(port types.ServicePortConfig) bool { return port.Target == publicPort }) {
		add("%q must publish its port %d: it is how people reach the stack", s.Name, publicPort)
	}
	if s.Build != nil { // an infuse process, built from this repository
		ignore, _ := os.ReadFile(filepath.Join(s.Build.Context, ".dockerignore"))
		if !slices.Contains(strings.Fields(string(ignore)), ".env") {
			add("%q is built from %s, whose .dockerignore does not leave out .env: the secrets would be sent to the image build",
				s.Name, s.Build.Context)
		}
		for name := range s.Environment {
			if !knownVariable(name) {
				add("%q gets %s, which infuse does not read: a typo (in %s or .env), or a variable to add to knownEnvironment "+
					"(cmd/infuse/environment.go) and to the README's table", s.Name, name, composeFile)
			}
		}
	}
	problems = append(problems, mountedPathProblems(s)...)
	return problems
}

func isLoopback(ip string) bool {
	parsed := net.ParseIP(ip)
	return parsed != nil && parsed.IsLoopback()
}

func orAll(ip string) string {
	if ip == "" {
		return "0.0.0.0"
	}
	return ip
}

// mountedPathProblems checks that every file a service's command or
// DYNAMIC_CONFIG_FILE_PATH names inside the container is a file of the
// repository mounted there, and that a dynamic config file loads with the
// Temporal server's own loader.
func mountedPathProblems(s types.ServiceConfig) []string {
	var problems []string
	paths := slices.Clone([]string(s.Command))
	dynamicConfig := ""
	if v := s.Environment["DYNAMIC_CONFIG_FILE_PATH"]; v != nil {
		dynamicConfig = *v
		paths = append(paths, dynamicConfig)
	}
	for _, path := range paths {
		if !strings.HasPrefix(path, "/etc/infuse/") {
			continue // the images' own files, which this checkout cannot see
		}
		host, ok := hostPath(s, path)
		if !ok {
			problems = append(problems, fmt.Sprintf("%q uses %s, which no volume of it mounts", s.Name, path))
			continue
		}
		contents, err := os.ReadFile(host)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%q uses %s, mounted from %s, which cannot be read: %v", s.Name, path, host, err))
			continue
		}
		if path == dynamicConfig {
			loaded := dynamicconfig.LoadYamlFile(contents)
			for _, e := range append(loaded.Errors, loaded.Warnings...) {
				problems = append(problems, fmt.Sprintf("%q's dynamic config %s: %v (keys: go.temporal.io/server common/dynamicconfig)", s.Name, host, e))
			}
		}
	}
	return problems
}

// hostPath maps a path inside s's container to the file mounted there.
func hostPath(s types.ServiceConfig, path string) (string, bool) {
	for _, v := range s.Volumes {
		if v.Type != types.VolumeTypeBind {
			continue
		}
		if path == v.Target {
			return v.Source, true
		}
		if rest, ok := strings.CutPrefix(path, strings.TrimSuffix(v.Target, "/")+"/"); ok {
			return filepath.Join(v.Source, rest), true
		}
	}
	return "", false
}

// versionProblems checks that the stack runs the Temporal releases this
// binary is built with (go.mod), which infuse dev and every test run: the
// server, the tools that set up its schema, and the Web UI.
func versionProblems(p *types.Project) []string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return []string{"the test binary has no build information to read go.mod's versions from"}
	}
	built := map[string]string{}
	for _, m := range info.Deps {
		built[m.Path] = m.Version
	}
	images := map[string]string{ // image → the module whose release it must be
		"temporalio/server":      "go.temporal.io/server",
		"temporalio/admin-tools": "go.temporal.io/server",
		"temporalio/ui":          "github.com/temporalio/ui-server/v2",
	}
	var problems []string
	for _, s := range p.Services {
		image, tag, _ := strings.Cut(s.Image, ":")
		module, ok := images[image]
		if !ok {
			continue
		}
		if want := strings.TrimPrefix(built[module], "v"); tag != want {
			problems = append(problems, fmt.Sprintf("%q runs %s, but go.mod builds %s %s: use %s:%s (or change both together)",
				s.Name, s.Image, module, built[module], image, want))
		}
	}
	return problems
}

// agreementProblems checks that the services that name one another agree:
// everything reaches Temporal and PostgreSQL at a service of the stack, and
// uses the namespace the stack registers.
func agreementProblems(p *types.Project) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	runs := func(service, image string) bool {
		s, ok := p.Services[service]
		return ok && strings.HasPrefix(s.Image, image+":")
	}
	namespaces := map[string][]string{} // namespace → who uses it
	for _, s := range p.Services {
		env := func(k string) string {
			if v := s.Environment[k]; v != nil {
				return *v
			}
			return ""
		}
		if addr := env("TEMPORAL_ADDRESS"); addr != "" {
			host, _, err := net.SplitHostPort(addr)
			if err != nil || !runs(host, "temporalio/server") {
				add("%q has TEMPORAL_ADDRESS %q: it must be the temporal service, temporal:7233", s.Name, addr)
			}
		}
		if dbURL := env("INFUSE_DATABASE_URL"); dbURL != "" {
			u, err := url.Parse(dbURL)
			if err != nil || !runs(u.Hostname(), "postgres") {
				add("%q has INFUSE_DATABASE_URL's host %q: it must be the postgres service", s.Name, u.Hostname())
			}
		}
		for _, k := range []string{"TEMPORAL_NAMESPACE", "TEMPORAL_DEFAULT_NAMESPACE"} {
			if ns := env(k); ns != "" {
				namespaces[ns] = append(namespaces[ns], s.Name)
			}
		}
	}
	if len(namespaces) > 1 {
		for ns, who := range namespaces {
			slices.Sort(who)
			add("%s use namespace %q: every service must use the one temporal-namespace registers", strings.Join(who, ", "), ns)
		}
	}
	return problems
}

var (
	interpolated = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)`)
	assignment   = regexp.MustCompile(`(?m)^#?\s*([A-Za-z_][A-Za-z0-9_]*)=`)
)

// documentedProblems checks that the example env file shows every variable
// the compose file takes from .env (set, or commented out where it has a
// default), and names only variables infuse reads, commented-out ones
// included: the env file is the infuse processes' environment.
func documentedProblems(compose, env string) []string {
	var problems []string
	shown := map[string]bool{}
	for _, m := range assignment.FindAllStringSubmatch(env, -1) {
		shown[m[1]] = true
		if !knownVariable(m[1]) {
			problems = append(problems, fmt.Sprintf("%s names %s, which infuse does not read; infuse processes get the whole file", envExample, m[1]))
		}
	}
	for _, m := range interpolated.FindAllStringSubmatch(compose, -1) {
		if !shown[m[1]] {
			problems = append(problems, fmt.Sprintf("%s uses ${%s}, which %s does not show: add it there, with what it is", composeFile, m[1], envExample))
			shown[m[1]] = true
		}
	}
	return problems
}
