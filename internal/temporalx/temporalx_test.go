package temporalx

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/server/temporaltest"
)

// clearTemporalEnv unsets every TEMPORAL_* variable for the test and points
// the profile file at a path that does not exist, so the developer's own
// configuration cannot leak in.
func clearTemporalEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "TEMPORAL_") {
			t.Setenv(k, "") // restores the old value after the test
			os.Unsetenv(k)
		}
	}
	t.Setenv("TEMPORAL_CONFIG_FILE", filepath.Join(t.TempDir(), "absent.toml"))
}

func TestClientOptionsFromEnvDefaults(t *testing.T) {
	clearTemporalEnv(t)
	opts, err := ClientOptionsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if opts.HostPort != DefaultAddress || opts.Namespace != DefaultNamespace {
		t.Errorf("got %q/%q, want %q/%q", opts.HostPort, opts.Namespace, DefaultAddress, DefaultNamespace)
	}
	if opts.Credentials != nil || opts.ConnectionOptions.TLS != nil {
		t.Errorf("unexpected credentials/TLS without configuration: %+v", opts.ConnectionOptions)
	}
}

func TestClientOptionsFromEnvVariables(t *testing.T) {
	clearTemporalEnv(t)
	t.Setenv("TEMPORAL_ADDRESS", "infuse.tmprl.cloud:7233")
	t.Setenv("TEMPORAL_NAMESPACE", "infuse.abc12")
	t.Setenv("TEMPORAL_API_KEY", "secret-key")
	t.Setenv("TEMPORAL_TLS_SERVER_NAME", "infuse.example")
	opts, err := ClientOptionsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if opts.HostPort != "infuse.tmprl.cloud:7233" || opts.Namespace != "infuse.abc12" {
		t.Errorf("got %q/%q", opts.HostPort, opts.Namespace)
	}
	if opts.Credentials == nil {
		t.Error("API key did not produce credentials")
	}
	if tls := opts.ConnectionOptions.TLS; tls == nil || tls.ServerName != "infuse.example" {
		t.Errorf("TLS = %+v, want enabled with server name infuse.example", tls)
	}
}

func TestClientOptionsFromEnvProfile(t *testing.T) {
	clearTemporalEnv(t)
	file := filepath.Join(t.TempDir(), "temporal.toml")
	err := os.WriteFile(file, []byte(`
[profile.default]
address = "default-host:7233"

[profile.staging]
address = "staging-host:7233"
namespace = "infuse-staging"
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEMPORAL_CONFIG_FILE", file)
	t.Setenv("TEMPORAL_PROFILE", "staging")
	opts, err := ClientOptionsFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if opts.HostPort != "staging-host:7233" || opts.Namespace != "infuse-staging" {
		t.Errorf("got %q/%q", opts.HostPort, opts.Namespace)
	}
	// Environment variables win over the profile.
	t.Setenv("TEMPORAL_NAMESPACE", "override")
	if opts, err = ClientOptionsFromEnv(); err != nil || opts.Namespace != "override" {
		t.Errorf("namespace = %q, %v; want override", opts.Namespace, err)
	}
	t.Setenv("TEMPORAL_PROFILE", "nope")
	if _, err := ClientOptionsFromEnv(); err == nil {
		t.Error("unknown profile accepted")
	}
}

func TestSearchAttributes(t *testing.T) {
	sa := SearchAttributes()
	want := []string{"InfuseIntakeId", "InfusePhase", "InfuseCoachId"}
	if len(sa) != len(want) {
		t.Fatalf("SearchAttributes() = %v", sa)
	}
	for _, name := range want {
		if sa[name] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
			t.Errorf("%s = %v, want Keyword", name, sa[name])
		}
	}
}

func TestMissingAttributes(t *testing.T) {
	have := map[string]enumspb.IndexedValueType{
		"InfusePhase":   enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"InfuseCoachId": enumspb.INDEXED_VALUE_TYPE_TEXT,
	}
	missing, err := missingAttributes(have, map[string]enumspb.IndexedValueType{
		"InfusePhase":    enumspb.INDEXED_VALUE_TYPE_KEYWORD,
		"InfuseIntakeId": enumspb.INDEXED_VALUE_TYPE_KEYWORD,
	})
	if err != nil || len(missing) != 1 || missing["InfuseIntakeId"] != enumspb.INDEXED_VALUE_TYPE_KEYWORD {
		t.Errorf("missing = %v, %v", missing, err)
	}
	if _, err := missingAttributes(have, SearchAttributes()); err == nil || !strings.Contains(err.Error(), "InfuseCoachId") {
		t.Errorf("type conflict not reported: %v", err)
	}
}

// TestRegisterSearchAttributes runs against a real in-process server, the
// way end-to-end tests use it.
func TestRegisterSearchAttributes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Temporal server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ts := temporaltest.NewServer(temporaltest.WithT(t))
	c := ts.GetDefaultClient()
	ns := ts.GetDefaultNamespace()

	for i := 0; i < 2; i++ { // the second call must be a no-op
		if err := RegisterSearchAttributes(ctx, c, ns); err != nil {
			t.Fatalf("RegisterSearchAttributes (call %d): %v", i+1, err)
		}
	}
	resp, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	for name, typ := range SearchAttributes() {
		if got := resp.GetCustomAttributes()[name]; got != typ {
			t.Errorf("%s = %v, want %v", name, got, typ)
		}
	}
	// A name taken with another type is an error, not silently ignored.
	err = AddSearchAttributes(ctx, c, ns, map[string]enumspb.IndexedValueType{"InfusePhase": enumspb.INDEXED_VALUE_TYPE_INT})
	if err == nil {
		t.Error("re-registering InfusePhase as Int succeeded")
	}
}
