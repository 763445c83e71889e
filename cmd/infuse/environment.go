package main

import "strings"

// envVar is an environment variable the binary reads. A name ending in "*"
// stands for every variable with that prefix.
type envVar struct {
	name  string
	about string // one line: what it sets
}

// knownEnvironment is every environment variable that configures the
// binary: its own INFUSE_* variables; Temporal's client configuration, read
// by go.temporal.io/sdk/contrib/envconfig (temporalx.ClientOptionsFromEnv)
// and by the SDK itself; and the libpq variables pgx reads for whatever a
// postgres:// INFUSE_DATABASE_URL leaves out. It exists so that a
// deployment cannot set a variable nothing reads without a test noticing:
// docker-compose.yml may give the infuse services only these
// (TestComposeFile), the README's "Production" table lists exactly these
// (TestREADMEListsEveryVariable), and every INFUSE_* name in this package's
// code must be here (TestEnvironmentListsEveryInfuseVariable).
//
// Left out, as they are not this program's settings: the Go runtime's
// (GODEBUG, GOMAXPROCS, GOMEMLIMIT, ...), the system's (TZ, HOME and
// XDG_CONFIG_HOME, which place the default Temporal profile file,
// SSL_CERT_FILE/SSL_CERT_DIR, HTTPS_PROXY/NO_PROXY, which gRPC honours),
// gRPC's logging (GRPC_GO_*), the variables the SDK only inspects to report
// where it runs (KUBERNETES_SERVICE_HOST and the like), and
// TEMPORAL_CODEC_ENDPOINT/TEMPORAL_CODEC_AUTH, which envconfig parses but
// this binary does not apply (it asks for no remote codec).
var knownEnvironment = []envVar{
	// The binary's own.
	{envDatabase, "the store: a postgres:// URL or a SQLite file (the --database flag)"},
	{envLogLevel, "debug, info, warn or error (the --log-level flag)"},
	{envBaseURL, "where people reach the pages, for the links in sign-in e-mails (the --base-url flag)"},
	{envTrustedProxies, "the proxies in front of the API whose X-Forwarded-For names the client, comma-separated (the --trusted-proxy flag)"},
	{envSMTPHost, "the mail server the outbox and sign-in links are sent through; unset, nothing is e-mailed"},
	{envSMTPPort, "its port (default 587; 465 with INFUSE_SMTP_TLS=tls)"},
	{envSMTPTLS, "starttls (default), starttls-opportunistic, tls, or none (clear text, only for a server on loopback or a private network)"},
	{envSMTPUsername, "the mail server user name, if it needs one"},
	{envSMTPPassword, "and its password"},
	{envMailFrom, `the sending address, e.g. "Infuse <infuse@example.org>" (required with INFUSE_SMTP_HOST)`},
	{envMetricsAddr, "where worker and api serve /metrics, /readyz and /healthz for operators (the --metrics flag); unset: not served"},
	{envWorkerCache, "how many journeys and intakes a worker keeps in memory between their tasks (about 100 KB each); unset: 10000"},
	{envRehearsalFrom, "rehearsals only: from this instant (RFC 3339) programme time runs INFUSE_REHEARSAL_SPEED times as fast; never for real journeys"},
	{envRehearsalSpeed, "rehearsals only: how many times as fast (set both or neither)"},
	{envRehearsalUntil, "rehearsals only, optional: from this instant (RFC 3339) programme time runs at real speed again"},

	// Temporal's client configuration (envconfig), shared with the temporal CLI.
	{"TEMPORAL_ADDRESS", "the Temporal frontend, host:port"},
	{"TEMPORAL_NAMESPACE", "the Temporal namespace"},
	{"TEMPORAL_API_KEY", "an API key (Temporal Cloud); turns TLS on unless TEMPORAL_TLS=false"},
	{"TEMPORAL_TLS", "true or false: connect with TLS"},
	{"TEMPORAL_TLS_CLIENT_CERT_PATH", "client certificate file, for mTLS"},
	{"TEMPORAL_TLS_CLIENT_CERT_DATA", "client certificate PEM, instead of the file"},
	{"TEMPORAL_TLS_CLIENT_KEY_PATH", "client key file, for mTLS"},
	{"TEMPORAL_TLS_CLIENT_KEY_DATA", "client key PEM, instead of the file"},
	{"TEMPORAL_TLS_SERVER_CA_CERT_PATH", "CA certificate file the server's certificate is checked against"},
	{"TEMPORAL_TLS_SERVER_CA_CERT_DATA", "CA certificate PEM, instead of the file"},
	{"TEMPORAL_TLS_SERVER_NAME", "the server name expected in its certificate"},
	{"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "true: do not check the server's host name (testing only)"},
	{"TEMPORAL_CLIENT_AUTHORITY", "the :authority sent on gRPC calls (behind some proxies)"},
	{"TEMPORAL_GRPC_META_*", "a header sent on every gRPC call: TEMPORAL_GRPC_META_<NAME>=value"},
	{"TEMPORAL_CONFIG_FILE", "the Temporal client profile file (TOML) the variables above override"},
	{"TEMPORAL_PROFILE", "which profile of that file to use"},
	// Read by the Temporal Go SDK itself.
	{"TEMPORAL_DEBUG", "any value: the SDK's debug mode (no deadlock detection; for a debugger, never production)"},
	{"TEMPORAL_WORKFLOW_TASK_DURATION_WARN_SECONDS", "warn when a workflow task takes longer than this"},
	{"TEMPORAL_SDK_FLAG_*", "TEMPORAL_SDK_FLAG_<n>=0|1 overrides an SDK behaviour flag (an emergency switch)"},

	// libpq's variables, read by pgx for a postgres:// INFUSE_DATABASE_URL:
	// the URL's own values win.
	{"PGHOST", "PostgreSQL host"},
	{"PGPORT", "PostgreSQL port"},
	{"PGDATABASE", "database name"},
	{"PGUSER", "user name"},
	{"PGPASSWORD", "password (keeps it out of the URL)"},
	{"PGPASSFILE", "password file (default ~/.pgpass)"},
	{"PGSERVICE", "service name in the service file"},
	{"PGSERVICEFILE", "service file"},
	{"PGAPPNAME", "application_name the server shows"},
	{"PGCONNECT_TIMEOUT", "connection timeout in seconds"},
	{"PGSSLMODE", "disable, allow, prefer, require, verify-ca or verify-full"},
	{"PGSSLROOTCERT", "CA certificate file for verify-ca/verify-full"},
	{"PGSSLCERT", "client certificate file"},
	{"PGSSLKEY", "client key file"},
	{"PGSSLPASSWORD", "password of the client key"},
	{"PGSSLCERTMODE", "disable, allow or require sending the client certificate"},
	{"PGSSLSNI", "0 to send no TLS server name"},
	{"PGSSLNEGOTIATION", "postgres or direct TLS negotiation"},
	{"PGCHANNELBINDING", "disable, prefer or require SCRAM channel binding"},
	{"PGREQUIREAUTH", "authentication methods the client accepts"},
	{"PGTARGETSESSIONATTRS", "which server of several to use (e.g. read-write)"},
	{"PGTZ", "session time zone"},
	{"PGOPTIONS", "server options sent at connection start"},
	{"PGMINPROTOCOLVERSION", "lowest protocol version to accept"},
	{"PGMAXPROTOCOLVERSION", "highest protocol version to ask for"},
}

// knownVariable reports whether the binary reads the variable name.
func knownVariable(name string) bool {
	for _, v := range knownEnvironment {
		if prefix, ok := strings.CutSuffix(v.name, "*"); ok {
			if strings.HasPrefix(name, prefix) && len(name) > len(prefix) {
				return true
			}
		} else if name == v.name {
			return true
		}
	}
	return false
}
