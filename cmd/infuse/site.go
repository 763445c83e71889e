package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/api"
	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/app/demo"
	"github.com/infuse-cymru/journeys/internal/auth"
	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/web"
)

// siteOptions say where the site is reached and what stands in front of it.
type siteOptions struct {
	baseURL string
	// trusted are the proxies whose X-Forwarded-For names the client.
	trusted []netip.Prefix
}

// drainTimeout bounds how long shutting down waits for the sign-in
// e-mails already promised (each may take up to 30 s to send).
const drainTimeout = 30 * time.Second

// site is everything served over HTTP: the JSON API and the web pages,
// sharing one Authenticator, so a browser session works for both. Sign-in
// links are e-mailed with ms (haveMail false: sign-in by e-mail says mail
// is not configured, and `infuse signin link` is the way in). drain, run
// after the HTTP server has stopped and before the store closes, sends
// the sign-in e-mails still queued.
func site(svc *app.App, ms mailSettings, haveMail bool, o siteOptions, log *zap.Logger) (h http.Handler, drain func(), err error) {
	// A site reached over https is over TLS even where TLS ends at a proxy.
	a := &auth.Authenticator{Store: svc.Credentials, HTTPS: auth.HTTPSBaseURL(o.baseURL)}
	var sender delivery.Sender = noMail{}
	if haveMail {
		s, err := delivery.NewSMTP(ms.smtp)
		if err != nil {
			return nil, nil, fmt.Errorf("setting up e-mail for sign-in links: %w", err)
		}
		sender = s
	}
	pages := web.New(svc, web.Options{Auth: a, Mail: sender, From: ms.from, BaseURL: o.baseURL, TrustedProxies: o.trusted, Logger: log})
	drain = func() {
		ctx, cancel := context.WithTimeout(context.Background(), drainTimeout)
		defer cancel()
		if err := pages.Drain(ctx); err != nil {
			log.Warn("shutting down before every sign-in e-mail was sent; those people will ask again", zap.Error(err))
		}
	}
	return api.New(svc, api.Options{Auth: a, Pages: pages, Logger: log}), drain, nil
}

// checkBaseURL refuses a --base-url that would put a wrong or unsafe
// address in the links people are e-mailed: none (they would lead to the
// listen address, localhost on the server), not an absolute http(s) URL
// of a host (a query or fragment would take the link's secret), a path
// (the pages redirect to paths from the root), or plain http to anywhere
// but this machine (the link's secret would cross the network in clear).
func checkBaseURL(base string) error {
	const example = " (e.g. --base-url https://infuse.example.gov.uk)"
	if strings.TrimSpace(base) == "" {
		return usage("--base-url (or %s) is required: the address people use to reach the pages, which starts the links in sign-in e-mails"+example, envBaseURL)
	}
	u, err := url.Parse(base)
	switch {
	case err != nil || u.Hostname() == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || strings.ContainsAny(base, "?#"):
		return usage("--base-url %q is not an http(s) address of the pages, with nothing after the host"+example, base)
	case strings.Trim(u.Path, "/") != "":
		return usage("--base-url %q has a path: the pages are served from the root of their host"+example, base)
	case u.Scheme == "http" && !loopbackHost(u.Hostname()):
		return usage("--base-url %q is plain http: sign-in links would cross the network in clear; serve the pages over https"+example, base)
	}
	return nil
}

// loopbackHost says whether host is this machine.
func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

// trustedProxies reads --trusted-proxy values: CIDR ranges, or single
// addresses.
func trustedProxies(values []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, v := range values {
		for _, f := range strings.Split(v, ",") {
			f = strings.TrimSpace(f)
			if f == "" {
				continue
			}
			if p, err := netip.ParsePrefix(f); err == nil {
				out = append(out, p.Masked())
				continue
			}
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, usage("--trusted-proxy %q is not an address or a CIDR range (e.g. 10.0.0.0/8 or 192.0.2.7)", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	return out, nil
}

// noMail is the sender when no SMTP server is configured.
type noMail struct{}

func (noMail) Send(context.Context, delivery.Email) error {
	return errors.New("e-mail is not configured (set " + envSMTPHost + "); make a sign-in link with `infuse signin link EMAIL`")
}

// baseURL is where people reach the pages, for links in e-mails: --base-url,
// or the listen address as a browser on this machine would open it.
func baseURL(flag, addr string) string {
	if flag != "" {
		return strings.TrimRight(flag, "/")
	}
	return "http://" + displayAddr(addr)
}

func (c *cli) signinCommand() *cobra.Command {
	return group("signin", "Sign-in links: make one for a person, for when e-mail cannot reach them",
		c.signinLinkCommand())
}

func (c *cli) signinLinkCommand() *cobra.Command {
	var base string
	cmd := &cobra.Command{
		Use:   "link EMAIL|ID [--base-url URL]",
		Short: "Print a single-use sign-in link for a person (valid 15 minutes)",
		Long: `Print a sign-in link for PERSON to open in a browser. It works once, within
15 minutes, like the links the sign-in page e-mails; only its hash is kept.
Give it to the person only: whoever opens it is signed in as them.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: c.action(func(ctx context.Context, a []string) error {
			svc, err := c.service(ctx, false)
			if err != nil {
				return err
			}
			p, err := svc.People.FindPerson(ctx, a[0])
			if err != nil {
				return err
			}
			link, expires, err := signInLink(ctx, svc, p.ID, baseURL(base, devHTTPAddr))
			if err != nil {
				return err
			}
			return c.emit(map[string]any{"person": p.ID, "role": p.Role, "link": link, "expiresAt": expires},
				func(w io.Writer) { fmt.Fprintf(w, "%s (%s), until %s:\n%s\n", a[0], p.Role, when(expires), link) })
		}),
	}
	cmd.Flags().StringVar(&base, "base-url", os.Getenv(envBaseURL), "where the pages are served (default: infuse dev's address) (env "+envBaseURL+")")
	return cmd
}

// signInLink makes a sign-in link for personID on the pages at base.
func signInLink(ctx context.Context, svc *app.App, personID uuid.UUID, base string) (string, time.Time, error) {
	a := &auth.Authenticator{Store: svc.Credentials}
	secret, expires, err := a.NewSignInLink(ctx, personID)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("making a sign-in link: %w", err)
	}
	return base + web.SignInPath(secret), expires, nil
}

// printDemoLinks prints sign-in links for the demo's coordinator, a coach
// and one of that coach's participants, so a newcomer can try each role.
func (c *cli) printDemoLinks(ctx context.Context, svc *app.App, d demo.Demo, base string) error {
	if len(d.ParticipantIDs) == 0 || len(d.CoachIDs) == 0 {
		return nil
	}
	participant, coach := d.ParticipantIDs[0], d.CoachIDs[0]
	if js, err := svc.Views.JourneysOf(ctx, participant); err == nil && len(js) > 0 && js[0].Coach != nil {
		coach = js[0].Coach.ID
	}
	fmt.Fprintln(c.stdout, "\nSign in to the pages (each link works once, for 15 minutes; `infuse signin link EMAIL` makes more):")
	for _, who := range []struct {
		role string
		id   uuid.UUID
	}{{"coordinator", d.CoordinatorID}, {"coach", coach}, {"participant", participant}} {
		link, _, err := signInLink(ctx, svc, who.id, base)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "  %-12s %s\n", who.role+":", link)
	}
	return nil
}
