package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/people"
	"github.com/infuse-cymru/journeys/internal/store"
)

func (c *cli) tokenCommand() *cobra.Command {
	return group("token", "API tokens: create one for a system to call the API as a person, list them, or revoke one",
		c.tokenCreateCommand(), c.tokenListCommand(), c.tokenRevokeCommand())
}

func (c *cli) tokenCreateCommand() *cobra.Command {
	var person, role, name string
	var days int
	cmd := &cobra.Command{
		Use:   "create --person EMAIL|ID --role coordinator|coach|participant --name NAME [--days N]",
		Short: "Create an API token and print it (once: only its hash is kept)",
		Long: `Create an API token for another system to call the API as PERSON, in ROLE
(which must be the person's own role), and print it. The token is shown only
now: the store keeps its SHA-256 hash, so a lost token cannot be shown again;
revoke it and create another. Callers send it as
"Authorization: Bearer TOKEN". NAME says what the token is for. With --days
it stops working by itself N days from now; without, it works until revoked.
"infuse token list" shows when each token was last used.`,
		Args: args(cobra.NoArgs),
		RunE: c.action(func(ctx context.Context, _ []string) error {
			r := store.Role(strings.ToLower(strings.TrimSpace(role)))
			switch r {
			case store.RoleCoordinator, store.RoleCoach, store.RoleParticipant:
			default:
				return usage("--role %q is not coordinator, coach or participant", role)
			}
			if strings.TrimSpace(name) == "" {
				return usage("--name is missing: say what the token is for, e.g. --name \"council CRM\"")
			}
			if days < 0 || days > 365*store.MaxAPITokenYears {
				return usage("--days %d: give a number of days from now up to %d, or leave it out for a token that works until revoked",
					days, 365*store.MaxAPITokenYears)
			}
			st, err := c.store(ctx, false)
			if err != nil {
				return err
			}
			p, err := people.New(st).FindPerson(ctx, person)
			if err != nil {
				return err
			}
			if p.Role != r {
				return usage("%s is a %s: a token can only have its person's own role (--role %s)", person, p.Role, p.Role)
			}
			t := store.APIToken{PersonID: p.ID, Role: r, Name: name}
			if days > 0 {
				t.ExpiresAt = time.Now().AddDate(0, 0, days)
			}
			plain, tok, err := st.CreateAPIToken(ctx, t)
			if err != nil {
				return err
			}
			return c.emit(map[string]any{
				"token": plain, "id": tok.ID, "person": tok.PersonID, "role": tok.Role, "name": tok.Name, "createdAt": tok.CreatedAt,
				"expiresAt": nullableTime(tok.ExpiresAt),
			}, func(w io.Writer) {
				fmt.Fprintf(w, "API token %s (%s) for %s %s %s:\n\n  %s\n\n", tok.ID, tok.Name, tok.Role,
					strings.TrimSpace(p.GivenName+" "+p.FamilyName), p.EmailAddress, plain)
				if !tok.ExpiresAt.IsZero() {
					fmt.Fprintf(w, "It stops working at %s.\n", when(tok.ExpiresAt))
				}
				fmt.Fprintln(w, "Keep it now: it is not shown again. Send it as \"Authorization: Bearer TOKEN\".")
				fmt.Fprintf(w, "Stop it working with: infuse token revoke %s\n", tok.ID)
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&person, "person", "", "the person the token acts as: an e-mail address or ID")
	f.StringVar(&role, "role", "", "coordinator, coach or participant (the person's own role)")
	f.StringVar(&name, "name", "", "what the token is for, e.g. \"council CRM\"")
	f.IntVar(&days, "days", 0, "stop working this many days from now (default: until revoked)")
	for _, flag := range []string{"person", "role", "name"} {
		_ = cmd.MarkFlagRequired(flag)
	}
	return cmd
}

func (c *cli) tokenListCommand() *cobra.Command {
	var person string
	cmd := &cobra.Command{
		Use:   "list [--person EMAIL|ID]",
		Short: "List API tokens (never the tokens themselves): whose, what for, when made, last used, ends and revoked",
		Args:  args(cobra.NoArgs),
		RunE: c.action(func(ctx context.Context, _ []string) error {
			st, err := c.store(ctx, false)
			if err != nil {
				return err
			}
			who := uuid.Nil
			if person != "" {
				p, err := people.New(st).FindPerson(ctx, person)
				if err != nil {
					return err
				}
				who = p.ID
			}
			toks, err := st.APITokensOf(ctx, who)
			if err != nil {
				return err
			}
			out := make([]map[string]any, len(toks))
			rows := make([][]string, len(toks))
			for i, t := range toks {
				out[i] = map[string]any{"id": t.ID, "person": t.PersonID, "role": t.Role, "name": t.Name, "createdAt": t.CreatedAt,
					"expiresAt": nullableTime(t.ExpiresAt), "lastUsedAt": nullableTime(t.LastUsedAt), "revokedAt": nullableTime(t.RevokedAt)}
				rows[i] = []string{t.ID.String(), t.PersonID.String(), string(t.Role), t.Name, when(t.CreatedAt),
					when(t.LastUsedAt), when(t.ExpiresAt), when(t.RevokedAt)}
			}
			return c.emit(out, func(w io.Writer) {
				table(w, []string{"ID", "PERSON", "ROLE", "NAME", "CREATED", "LAST USED", "ENDS", "REVOKED"}, rows)
			})
		}),
	}
	cmd.Flags().StringVar(&person, "person", "", "only this person's tokens: an e-mail address or ID")
	return cmd
}

// nullableTime is t for JSON, or nil (null) for the zero time.
func nullableTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func (c *cli) tokenRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Stop an API token working (exit 4 if there is no such token)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: c.action(func(ctx context.Context, a []string) error {
			id, err := uuid.Parse(strings.TrimSpace(a[0]))
			if err != nil {
				return usage("%q is not a token ID (a UUID, as `infuse token create` printed it)", a[0])
			}
			st, err := c.store(ctx, false)
			if err != nil {
				return err
			}
			if err := st.RevokeAPIToken(ctx, id); errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: no API token %s", apperr.ErrNotFound, id)
			} else if err != nil {
				return err
			}
			return c.emit(map[string]any{"id": id, "revoked": true}, func(w io.Writer) {
				fmt.Fprintf(w, "API token %s is revoked.\n", id)
			})
		}),
	}
}
