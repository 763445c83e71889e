package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"go.uber.org/zap"

	"github.com/infuse-cymru/journeys/api"
	"github.com/infuse-cymru/journeys/auth"
	"github.com/infuse-cymru/journeys/delivery"
	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/web"
)

// site is everything served over HTTP: the JSON API and the web pages,
// sharing one Authenticator, so a browser session works for both. Sign-in
// links are e-mailed with ms (haveMail false: sign-in by e-mail says mail
// is not configured, and `infuse signin link` is the way in).
func site(svc *starter.Service, ms mailSettings, haveMail bool, baseURL string, log *zap.Logger) (http.Handler, error) {
	a := &auth.Authenticator{Store: svc.Store}
	var sender delivery.Sender = noMail{}
	if haveMail {
		s, err := delivery.NewSMTP(ms.smtp)
		if err != nil {
			return nil, fmt.Errorf("setting up e-mail for sign-in links: %w", err)
		}
		sender = s
	}
	pages := web.New(svc, web.Options{Auth: a, Mail: sender, From: ms.from, BaseURL: baseURL, Logger: log})
	return api.New(svc, api.Options{Auth: a, Pages: pages, Logger: log}), nil
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
			p, err := svc.FindPerson(ctx, a[0])
			if err != nil {
				return err
			}
			link, expires, err := signInLink(ctx, svc, p.ID, baseURL(base, devHTTPAddr))
			if err != nil {
				return err
			}
			return c.emit(map[string]any{"person": p.ID, "role": p.Role, "link": link, "expires_at": expires},
				func(w io.Writer) { fmt.Fprintf(w, "%s (%s), until %s:\n%s\n", a[0], p.Role, when(expires), link) })
		}),
	}
	cmd.Flags().StringVar(&base, "base-url", os.Getenv(envBaseURL), "where the pages are served (default: infuse dev's address) (env "+envBaseURL+")")
	return cmd
}

// signInLink makes a sign-in link for personID on the pages at base.
func signInLink(ctx context.Context, svc *starter.Service, personID uuid.UUID, base string) (string, time.Time, error) {
	a := &auth.Authenticator{Store: svc.Store}
	secret, expires, err := a.NewSignInLink(ctx, personID)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("making a sign-in link: %w", err)
	}
	return base + web.SignInPath(secret), expires, nil
}

// printDemoLinks prints sign-in links for the demo's coordinator, a coach
// and one of that coach's participants, so a newcomer can try each role.
func (c *cli) printDemoLinks(ctx context.Context, svc *starter.Service, d starter.Demo, base string) error {
	if len(d.ParticipantIDs) == 0 || len(d.CoachIDs) == 0 {
		return nil
	}
	participant, coach := d.ParticipantIDs[0], d.CoachIDs[0]
	if js, err := svc.Store.JourneysOfPerson(ctx, participant); err == nil && len(js) > 0 && js[0].CoachID != uuid.Nil {
		coach = js[0].CoachID
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
