package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/logging"
	"github.com/infuse-cymru/journeys/internal/notify"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/pgstore"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
	"github.com/infuse-cymru/journeys/internal/temporalx"
)

// openStore opens the store named by databaseURL: a postgres:// URL, or
// else a SQLite file. Only processes that own the store (dev, worker) may
// create a SQLite file; for the others a missing file means they are
// pointed at the wrong place, which an empty new database would hide.
func openStore(ctx context.Context, databaseURL string, create bool) (store.Store, error) {
	if isPostgres(databaseURL) {
		s, err := pgstore.Open(ctx, databaseURL)
		if err != nil {
			return nil, fmt.Errorf("cannot open the database %s (is PostgreSQL running? check --database or %s): %w",
				redact(databaseURL), envDatabase, err)
		}
		return s, nil
	}
	if !create {
		if _, err := os.Stat(databaseURL); errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("there is no database at %s: is `infuse dev` running in this directory? "+
				"(otherwise pass --database or set %s)", databaseURL, envDatabase)
		}
	}
	s, err := sqlitestore.Open(ctx, databaseURL)
	if err != nil {
		return nil, fmt.Errorf("cannot open the database %s: %w", databaseURL, err)
	}
	return s, nil
}

func isPostgres(databaseURL string) bool {
	return strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://")
}

// redact hides the password of a database URL, for messages.
func redact(databaseURL string) string {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "(unparseable URL)"
	}
	return u.Redacted()
}

// dialTemporal connects to Temporal with opts, logging through zap.
func dialTemporal(ctx context.Context, opts client.Options, log *zap.Logger) (client.Client, error) {
	opts.Logger = logging.NewTemporalLogger(log.Named("temporal-sdk"))
	temporalx.WatchTaskAttempts(&opts) // for the worker's local records
	c, err := client.DialContext(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("cannot reach Temporal at %s (namespace %q): is `infuse dev` running? "+
			"(otherwise set TEMPORAL_ADDRESS and the other TEMPORAL_* variables): %w", opts.HostPort, opts.Namespace, err)
	}
	return c, nil
}

// temporalFromEnv connects to the Temporal that the environment names
// (TEMPORAL_ADDRESS etc., default the dev server's 127.0.0.1:7233).
func (c *cli) temporalFromEnv(ctx context.Context) (client.Client, string, error) {
	opts, err := temporalx.ClientOptionsFromEnv()
	if err != nil {
		return nil, "", err
	}
	opts.MetricsHandler = c.temporalMetrics // nil: the SDK's no-op handler
	tc, err := dialTemporal(ctx, opts, c.logger())
	if err != nil {
		return nil, "", err
	}
	c.onClose(tc.Close)
	return tc, opts.Namespace, nil
}

// store opens the store named by --database for this command.
func (c *cli) store(ctx context.Context, create bool) (store.Store, error) {
	s, err := openStore(ctx, c.database, create)
	if err != nil {
		return nil, err
	}
	c.onClose(s.Close)
	return s, nil
}

// service connects what a coordinator command needs. Commands that only
// read or write the store (people, lists, dashboards) pass withTemporal
// false, so they work while Temporal is down.
func (c *cli) service(ctx context.Context, withTemporal bool) (*app.App, error) {
	s, err := c.store(ctx, false)
	if err != nil {
		return nil, err
	}
	var tc client.Client
	if withTemporal {
		if tc, _, err = c.temporalFromEnv(ctx); err != nil {
			return nil, err
		}
	}
	return app.New(tc, s), nil
}

// person resolves a person given by ID or e-mail address.
func person(ctx context.Context, svc *app.App, flag, ref string) (uuid.UUID, error) {
	if strings.TrimSpace(ref) == "" {
		return uuid.Nil, usage("%s is required: a person's ID or e-mail address", flag)
	}
	p, err := svc.People.FindPerson(ctx, ref)
	if err != nil {
		return uuid.Nil, fmt.Errorf("%s: %w", flag, err)
	}
	return p.ID, nil
}

// optionalPerson is person, but an empty ref is no one.
func optionalPerson(ctx context.Context, svc *app.App, flag, ref string) (uuid.UUID, error) {
	if strings.TrimSpace(ref) == "" {
		return uuid.Nil, nil
	}
	return person(ctx, svc, flag, ref)
}

// parseID reads an intake or journey ID.
func parseID(what, s string) (uuid.UUID, error) {
	id, err := uuid.Parse(strings.TrimSpace(s))
	if err != nil || id == uuid.Nil {
		return uuid.Nil, usage("%s %q is not an ID (IDs look like 0b7e6f0e-5a4b-4c3d-9e2f-1a2b3c4d5e6f)", what, s)
	}
	return id, nil
}

// isTimeout reports whether err is a deadline running out, locally or at the server.
func isTimeout(err error) bool {
	var de *serviceerror.DeadlineExceeded
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &de)
}

// Environment variables that configure e-mail delivery for `infuse worker`.
const (
	envSMTPHost     = "INFUSE_SMTP_HOST"
	envSMTPPort     = "INFUSE_SMTP_PORT"
	envSMTPTLS      = "INFUSE_SMTP_TLS"
	envSMTPUsername = "INFUSE_SMTP_USERNAME"
	envSMTPPassword = "INFUSE_SMTP_PASSWORD"
	envMailFrom     = "INFUSE_MAIL_FROM"
)

// mailSettings is how a process delivers the outbox: where to, and as whom.
type mailSettings struct {
	smtp delivery.SMTPConfig
	from delivery.Address
	// policy applies the programme's delivery policy: quiet hours, bank
	// holidays and the daily cap with its digest.
	policy bool
}

// mailFromEnv reads the INFUSE_SMTP_* variables and INFUSE_MAIL_FROM. With
// no INFUSE_SMTP_HOST it returns ok false: nothing is delivered.
func mailFromEnv() (s mailSettings, ok bool, err error) {
	host := strings.TrimSpace(os.Getenv(envSMTPHost))
	if host == "" {
		return s, false, nil
	}
	s.policy = true // real people's inboxes: always the programme's policy
	s.smtp = delivery.SMTPConfig{
		Host:     host,
		Port:     587,
		TLS:      delivery.TLSMode(strings.ToLower(strings.TrimSpace(envOr(envSMTPTLS, string(delivery.STARTTLSMandatory))))),
		Username: os.Getenv(envSMTPUsername),
		Password: os.Getenv(envSMTPPassword),
	}
	switch s.smtp.TLS {
	case delivery.STARTTLSMandatory, delivery.STARTTLSOpportunistic, delivery.NoTLS:
	case delivery.ImplicitTLS:
		s.smtp.Port = 465
	default:
		return s, false, usage("%s=%q: use starttls, starttls-opportunistic, tls or none", envSMTPTLS, os.Getenv(envSMTPTLS))
	}
	if v := strings.TrimSpace(os.Getenv(envSMTPPort)); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return s, false, usage("%s=%q is not a port number", envSMTPPort, v)
		}
		s.smtp.Port = p
	}
	if s.smtp.Password != "" && s.smtp.Username == "" {
		return s, false, usage("%s is set but %s is not", envSMTPPassword, envSMTPUsername)
	}
	from := strings.TrimSpace(os.Getenv(envMailFrom))
	if from == "" {
		return s, false, usage(`%s is set, so %s is required: the sending address, e.g. "Infuse <infuse@example.org>"`, envSMTPHost, envMailFrom)
	}
	if s.from, err = parseFrom(from); err != nil {
		return s, false, usage("%s: %v", envMailFrom, err)
	}
	return s, true, nil
}

// parseFrom reads a sending address, "Name <addr>" or a bare address.
func parseFrom(s string) (delivery.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return delivery.Address{}, fmt.Errorf(`%q is not an address such as "Infuse <infuse@example.org>" (%v)`,
			s, strings.TrimPrefix(err.Error(), "mail: "))
	}
	return delivery.Address{Name: a.Name, Address: a.Address}, nil
}

// startDelivery runs a Deliverer draining st's outbox through ms every
// poll, composing each message with notify.Composer, until ctx is done or
// the returned stop is called; stop waits for the pass under way to end
// (at most shutdownTimeout). Every worker may run one against the same
// store: they share the outbox by claiming what they send.
func startDelivery(ctx context.Context, st store.Store, ms mailSettings, poll time.Duration, log *zap.Logger) (stop func(), err error) {
	sender, err := delivery.NewSMTP(ms.smtp)
	if err != nil {
		return nil, err
	}
	opts := delivery.Options{Poll: poll, Logger: log.Named("delivery")}
	if ms.policy {
		opts.Policy = delivery.NewPolicy(st)
	}
	d := delivery.New(st, &notify.Composer{Store: st, From: ms.from}, sender, opts)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = d.Run(ctx)
	}()
	log.Info("delivering the outbox by e-mail",
		zap.String("smtp", net.JoinHostPort(ms.smtp.Host, strconv.Itoa(ms.smtp.Port))),
		zap.String("tls", string(ms.smtp.TLS)), zap.Duration("poll", poll), zap.Bool("policy", ms.policy))
	return func() {
		cancel()
		select {
		case <-done:
		case <-time.After(shutdownTimeout):
			log.Warn("e-mail delivery did not stop in time")
		}
	}, nil
}

// envWorkerCache is how many journeys and intakes a worker keeps in memory,
// at least minWorkerCache: fewer would have every journey replay its whole
// history for each of its tasks (the SDK keeps one fewer than it is told).
const (
	envWorkerCache = "INFUSE_WORKER_CACHE"
	minWorkerCache = 100
)

// workerCacheFromEnv reads envWorkerCache: set is false when it is unset
// (the SDK's 10,000).
func workerCacheFromEnv() (size int, set bool, err error) {
	v := strings.TrimSpace(os.Getenv(envWorkerCache))
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < minWorkerCache {
		return 0, false, usage("%s=%q: give how many journeys and intakes a worker keeps in memory, a whole number of %d or more "+
			"(about 100 KB each; unset, 10000)", envWorkerCache, v, minWorkerCache)
	}
	return n, true, nil
}
