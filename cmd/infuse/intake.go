package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/app/wire"
	"github.com/infuse-cymru/journeys/starter"
	"github.com/infuse-cymru/journeys/workflows"
)

func (c *cli) intakeCommand() *cobra.Command {
	return group("intake", "Open, start and watch intakes (cohorts)",
		c.intakeCreateCommand(), c.intakeEditCommand(), c.intakeListCommand(), c.intakeStartCommand(),
		c.intakeDashboardCommand(), c.intakeRescheduleCommand(), c.intakePreviewCommand())
}

func (c *cli) intakeCreateCommand() *cobra.Command {
	var name, opens, closes, starts, coordinator, requestID string
	var capacity int
	cmd := &cobra.Command{
		Use:   "create --name NAME --opens DATE --closes DATE --starts DATE --coordinator PERSON [--request-id TEXT]",
		Short: "Create an intake; its application window opens and closes on time by itself",
		Long: `Create an intake; its application window opens and closes on time by itself.

A script that may run the command again (after a timeout, say) gives it a
--request-id: the intake's ID is derived from it, so running the command
again with the same one and the same details answers with the intake the
first run created instead of creating another.`,
		Args: args(cobra.NoArgs),
		RunE: c.action(func(ctx context.Context, _ []string) error {
			if requestID != "" {
				// In place of the one request ID c.action gave this run, so
				// every run with this --request-id is the same request.
				ctx = starter.WithRequestID(ctx, "cli/"+requestID)
			}
			spec := commands.IntakeSpec{Name: name, Capacity: capacity}
			var err error
			if spec.OpensAt, err = parseTime("--opens", opens); err != nil {
				return err
			}
			if spec.ClosesAt, err = parseTime("--closes", closes); err != nil {
				return err
			}
			if spec.StartsOn, err = parseTime("--starts", starts); err != nil {
				return err
			}
			svc, err := c.service(ctx, true)
			if err != nil {
				return err
			}
			if spec.CoordinatorID, err = person(ctx, svc, "--coordinator", coordinator); err != nil {
				return err
			}
			in, err := svc.Commands.CreateIntake(ctx, spec)
			if requestID != "" && errors.Is(err, apperr.ErrRejected) {
				// The store refuses the derived ID only when it already
				// names an intake with other details.
				return fmt.Errorf("%w (the --request-id %q already created an intake with other details; use a new one for a new intake)", err, requestID)
			}
			if err != nil {
				return err
			}
			return c.emit(wire.Intake(in), func(w io.Writer) {
				fmt.Fprintf(w, "Created intake %s: %s\nApplications open %s and close %s; the programme starts %s.\n",
					in.Name, in.ID, when(in.OpensAt), when(in.ClosesAt), day(in.StartsOn))
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", `the intake's name, e.g. "Cohort 2"`)
	f.StringVar(&opens, "opens", "", "when the application window opens")
	f.StringVar(&closes, "closes", "", "when the application window closes")
	f.StringVar(&starts, "starts", "", "the first day of the programme")
	f.IntVar(&capacity, "capacity", 20, "the number of places")
	f.StringVar(&coordinator, "coordinator", "", "the coordinator in charge (ID or e-mail address)")
	f.StringVar(&requestID, "request-id", "", "any unique text; repeating a command with the same one creates the intake once")
	return cmd
}

func (c *cli) intakeEditCommand() *cobra.Command {
	var name string
	var capacity int
	cmd := &cobra.Command{
		Use:   "edit INTAKE [--name NAME] [--capacity N]",
		Short: "Rename an intake or change its number of places; places added go to the waitlist at once",
		Long: "Rename an intake or change its number of places. The places can change until the intake starts, " +
			"and not below those already offered or taken; places added are offered to the waitlist, longest-waiting " +
			"first. The dates cannot change.",
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			var edit commands.IntakeEdit
			if cmd.Flags().Changed("name") {
				edit.Name = &name
			}
			if cmd.Flags().Changed("capacity") {
				edit.Capacity = &capacity
			}
			if edit.Name == nil && edit.Capacity == nil {
				return usage("say what to change: --name NAME, --capacity N or both (usage: %s)", cmd.UseLine())
			}
			// A rename is the store's alone, so it works without Temporal.
			return c.onID("intake", edit.Capacity != nil, func(ctx context.Context, svc *app.App, id uuid.UUID, _ []string) (any, func(io.Writer), error) {
				in, err := svc.Commands.EditIntake(ctx, id, edit)
				return wire.Intake(in), func(w io.Writer) {
					fmt.Fprintf(w, "Intake %s is now %s, with places for %d.\n", in.ID, in.Name, in.Capacity)
				}, err
			})(cmd, a)
		},
	}
	f := cmd.Flags()
	f.StringVar(&name, "name", "", `the intake's new name, e.g. "Cohort 2"`)
	f.IntVar(&capacity, "capacity", 0, "the new number of places")
	return cmd
}

func (c *cli) intakeListCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List intakes, soonest start first",
		Args:  args(cobra.NoArgs),
		RunE: c.action(func(ctx context.Context, _ []string) error {
			svc, err := c.service(ctx, false)
			if err != nil {
				return err
			}
			intakes, err := svc.Views.ListIntakes(ctx)
			if err != nil {
				return err
			}
			return c.emit(wire.IntakeSummaries(intakes), func(w io.Writer) {
				rows := make([][]string, len(intakes))
				for i, in := range intakes {
					rows[i] = []string{in.ID.String(), in.Name, string(in.Status), when(in.OpensAt), when(in.ClosesAt),
						day(in.StartsOn), strconv.Itoa(in.Capacity), strconv.Itoa(in.Applications)}
				}
				table(w, []string{"ID", "NAME", "STATUS", "OPENS", "CLOSES", "STARTS", "PLACES", "APPLICATIONS"}, rows)
			})
		}),
	}
}

func (c *cli) intakeStartCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "start INTAKE",
		Short: "Start the programme for everyone who accepted; close everyone else's application",
		Args:  args(cobra.ExactArgs(1)),
		RunE: c.onID("intake", true, func(ctx context.Context, svc *app.App, id uuid.UUID, _ []string) (any, func(io.Writer), error) {
			got, err := svc.Commands.StartIntake(ctx, id)
			return wire.Started{Counts: got}, func(w io.Writer) {
				fmt.Fprintf(w, "Started intake %s: %s.\n", id, statusCounts(got))
			}, err
		}),
	}
}

func statusCounts(m map[workflows.Status]int) string {
	s := make(map[string]int, len(m))
	for k, v := range m {
		s[string(k)] = v
	}
	return counts(s)
}

func (c *cli) intakeDashboardCommand() *cobra.Command {
	var after, before string
	var page views.DashboardPage
	cmd := &cobra.Command{
		Use:   "dashboard INTAKE [--after JOURNEY | --before JOURNEY] [--limit N]",
		Short: "Show an intake's totals and a page of its participants, where each one is",
		Args:  args(cobra.ExactArgs(1)),
		RunE: c.onID("intake", false, func(ctx context.Context, svc *app.App, id uuid.UUID, _ []string) (any, func(io.Writer), error) {
			if page.Limit < 1 || page.Limit > views.MaxDashboardRows {
				return nil, nil, usage("--limit %d: list 1 to %d participants a page", page.Limit, views.MaxDashboardRows)
			}
			for _, f := range []struct {
				flag, text string
				id         *uuid.UUID
			}{{"--after", after, &page.After}, {"--before", before, &page.Before}} {
				if f.text == "" {
					continue
				}
				var err error
				if *f.id, err = parseID(f.flag, f.text); err != nil {
					return nil, nil, err
				}
			}
			d, err := svc.Views.IntakeDashboard(ctx, id, page)
			return wire.DashboardOf(d), func(w io.Writer) { printDashboard(w, d) }, err
		}),
	}
	cmd.Flags().StringVar(&after, "after", "", "list the participants after this journey (the last page's next)")
	cmd.Flags().StringVar(&before, "before", "", "list the participants before this journey (the last page's previous)")
	cmd.Flags().IntVar(&page.Limit, "limit", views.DashboardRows, fmt.Sprintf("list at most this many participants (1 to %d)", views.MaxDashboardRows))
	return cmd
}

func printDashboard(w io.Writer, d views.IntakeDashboard) {
	in := d.Intake
	fmt.Fprintf(w, "%s (%s): %s\n", in.Name, in.ID, in.Status)
	fmt.Fprintf(w, "Applications %s to %s; starts %s; %d places; coordinator %s\n\n",
		when(in.OpensAt), when(in.ClosesAt), day(in.StartsOn), in.Capacity, orDash(d.Coordinator.Name))
	rows := make([][]string, len(d.Rows))
	for i, r := range d.Rows {
		next := "-"
		if r.NextDueItem != "" {
			next = r.NextDueItem + " " + when(r.NextDueAt)
		}
		rows[i] = []string{r.Name, orDash(r.LocalAuthority), orDash(r.Theme), orDash(r.CoachName), string(r.State),
			next, strconv.Itoa(r.OverdueCount), r.JourneyID.String()}
	}
	table(w, []string{"PARTICIPANT", "LOCAL AUTHORITY", "THEME", "COACH", "STATE", "NEXT DUE", "OVERDUE", "JOURNEY"}, rows)
	fmt.Fprintf(w, "\n%d of %d applications on this page.", len(d.Rows), d.Total)
	if d.Previous != uuid.Nil {
		fmt.Fprintf(w, " Previous: --before %s.", d.Previous)
	}
	if d.Next != uuid.Nil {
		fmt.Fprintf(w, " Next: --after %s.", d.Next)
	}
	fmt.Fprintf(w, "\n%d applications. By state: %s\n", d.Total, counts(d.Counts))
	fmt.Fprintf(w, "By local authority: %s\n", counts(d.ByLocalAuthority))
	fmt.Fprintf(w, "By theme: %s\n", counts(d.ByTheme))
}

func (c *cli) intakeRescheduleCommand() *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "reschedule INTAKE SESSION --to TIME",
		Short: `Move a lab session (e.g. "adaption-lab/2") for the whole intake; reminders follow`,
		Args:  args(cobra.ExactArgs(2)),
		RunE: c.action(func(ctx context.Context, a []string) error {
			id, err := parseID("intake", a[0])
			if err != nil {
				return err
			}
			at, err := parseTime("--to", to)
			if err != nil {
				return err
			}
			svc, err := c.service(ctx, true)
			if err != nil {
				return err
			}
			if err := svc.Commands.RescheduleSession(ctx, id, a[1], at); err != nil {
				return err
			}
			return c.emit(map[string]any{"intake": id, "session": a[1], "startsAt": at}, func(w io.Writer) {
				fmt.Fprintf(w, "Session %s of intake %s now starts %s.\n", a[1], id, when(at))
			})
		}),
	}
	cmd.Flags().StringVar(&to, "to", "", "the session's new start time")
	return cmd
}

// oneOf checks a positional word against the allowed ones.
func oneOf(what, got string, allowed ...string) error {
	if slices.Contains(allowed, got) {
		return nil
	}
	return usage("%s %q is not one of %v", what, got, allowed)
}
