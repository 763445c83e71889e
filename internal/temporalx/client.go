package temporalx

import (
	"fmt"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
)

// Defaults used when neither the environment nor a profile says otherwise.
const (
	DefaultAddress   = "127.0.0.1:7233"
	DefaultNamespace = "default"
)

// ClientOptionsFromEnv returns client options from Temporal's standard
// environment configuration, the same that the temporal CLI and the other
// SDKs read (go.temporal.io/sdk/contrib/envconfig):
//
//   - the profile file: TEMPORAL_CONFIG_FILE, else
//     <user config dir>/temporalio/temporal.toml (missing is fine), and the
//     profile TEMPORAL_PROFILE (default "default");
//   - overridden by TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
//     TEMPORAL_TLS, TEMPORAL_TLS_CLIENT_CERT_PATH/_DATA,
//     TEMPORAL_TLS_CLIENT_KEY_PATH/_DATA, TEMPORAL_TLS_SERVER_CA_CERT_PATH/_DATA,
//     TEMPORAL_TLS_SERVER_NAME, TEMPORAL_TLS_DISABLE_HOST_VERIFICATION,
//     TEMPORAL_CLIENT_AUTHORITY and TEMPORAL_GRPC_META_*.
//
// An API key turns TLS on unless TEMPORAL_TLS=false. The address defaults to
// DefaultAddress and the namespace to DefaultNamespace. The caller sets the
// logger, interceptors and the like on the result before dialling.
func ClientOptionsFromEnv() (client.Options, error) {
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{})
	if err != nil {
		return client.Options{}, fmt.Errorf("temporalx: reading Temporal client configuration (TEMPORAL_* variables, TEMPORAL_CONFIG_FILE, TEMPORAL_PROFILE): %w", err)
	}
	if opts.HostPort == "" {
		opts.HostPort = DefaultAddress
	}
	if opts.Namespace == "" {
		opts.Namespace = DefaultNamespace
	}
	return opts, nil
}
