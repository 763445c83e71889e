package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/infuse-cymru/journeys/internal/app/wire"
	"github.com/infuse-cymru/journeys/internal/store"
)

func (c *cli) peopleCommand() *cobra.Command {
	return group("people", "Import and list participants, coaches and coordinators",
		c.peopleImportCommand(), c.peopleListCommand())
}

func (c *cli) peopleImportCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Import people from a CSV file (all of them, or none if any line is wrong)",
		Long: `Import people from a CSV file with a header row naming the columns
role,given_name,family_name,email,local_authority,theme,language (any order).

role is participant, coach or coordinator; local_authority one of the ten
Cardiff Capital Region authorities (required for participants); theme
decarbonisation or communities (participants only); language cy, en or empty
(unknown: correspondence goes bilingual, Welsh first). Every bad line is
reported and nothing is imported until the file is right. People already
imported with the same details are left as they are, so importing the same
file again is harmless. Use - to read standard input.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: c.action(func(ctx context.Context, args []string) error {
			r, err := c.open(args[0])
			if err != nil {
				return err
			}
			defer r.Close()
			svc, err := c.service(ctx, false)
			if err != nil {
				return err
			}
			res, err := svc.People.ImportPeople(ctx, r)
			if err != nil {
				return err
			}
			return c.emit(res, func(w io.Writer) {
				fmt.Fprintf(w, "Imported %s: %d created, %d unchanged.\n", args[0], len(res.Created), len(res.Unchanged))
			})
		}),
	}
}

// open opens a file named on the command line, "-" being standard input.
func (c *cli) open(name string) (io.ReadCloser, error) {
	if name == "-" {
		return io.NopCloser(c.stdin), nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, usage("cannot read %s: %v", name, err)
	}
	return f, nil
}

func (c *cli) peopleListCommand() *cobra.Command {
	var role string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List people",
		Args:  args(cobra.NoArgs),
		RunE: c.action(func(ctx context.Context, _ []string) error {
			svc, err := c.service(ctx, false)
			if err != nil {
				return err
			}
			people, err := svc.People.ListPeople(ctx, store.Role(role))
			if err != nil {
				return err
			}
			return c.emit(wire.People(people), func(w io.Writer) {
				rows := make([][]string, len(people))
				for i, p := range people {
					rows[i] = []string{p.ID.String(), string(p.Role), p.GivenName + " " + p.FamilyName, p.EmailAddress,
						orDash(p.LocalAuthority), orDash(p.Theme), orDash(string(p.Language))}
				}
				table(w, []string{"ID", "ROLE", "NAME", "EMAIL", "LOCAL AUTHORITY", "THEME", "LANGUAGE"}, rows)
			})
		}),
	}
	cmd.Flags().StringVar(&role, "role", "", "only people with this role: participant, coach or coordinator")
	return cmd
}
