package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/infuse-cymru/journeys/internal/app"
	"github.com/infuse-cymru/journeys/internal/app/commands"
	"github.com/infuse-cymru/journeys/internal/app/views"
	"github.com/infuse-cymru/journeys/internal/app/wire"
	"github.com/infuse-cymru/journeys/workflows"
	"github.com/infuse-cymru/journeys/workflows/contract"
)

// journeyAction is a command that acts on one journey named by its first
// argument, through a connected Service.
type journeyAction func(ctx context.Context, svc *app.App, journeyID uuid.UUID, args []string) (result any, text string, err error)

// onJourney wraps a journeyAction: it parses the journey ID, connects and
// prints the result.
func (c *cli) onJourney(fn journeyAction) func(*cobra.Command, []string) error {
	return c.onID("journey", true, func(ctx context.Context, svc *app.App, id uuid.UUID, rest []string) (any, func(io.Writer), error) {
		res, text, err := fn(ctx, svc, id, rest)
		return res, func(w io.Writer) { fmt.Fprintln(w, text) }, err
	})
}

// idAction is a command on the intake or journey named by its first
// argument: it returns the result, for --json, and how to print it.
type idAction func(ctx context.Context, svc *app.App, id uuid.UUID, args []string) (result any, show func(io.Writer), err error)

// onID wraps an idAction: it parses the ID (of what), connects (to
// Temporal too if withTemporal) and prints the result.
func (c *cli) onID(what string, withTemporal bool, fn idAction) func(*cobra.Command, []string) error {
	return c.action(func(ctx context.Context, a []string) error {
		id, err := parseID(what, a[0])
		if err != nil {
			return err
		}
		svc, err := c.service(ctx, withTemporal)
		if err != nil {
			return err
		}
		res, show, err := fn(ctx, svc, id, a[1:])
		if err != nil {
			return err
		}
		return c.emit(res, show)
	})
}

func (c *cli) applyCommand() *cobra.Command {
	var intake, who, coach string
	cmd := &cobra.Command{
		Use:   "apply --intake INTAKE --person PERSON [--coach PERSON]",
		Short: "Submit a participant's application to an open intake",
		Args:  args(cobra.NoArgs),
		RunE: c.action(func(ctx context.Context, _ []string) error {
			intakeID, err := parseID("--intake", intake)
			if err != nil {
				return err
			}
			svc, err := c.service(ctx, true)
			if err != nil {
				return err
			}
			personID, err := person(ctx, svc, "--person", who)
			if err != nil {
				return err
			}
			coachID, err := optionalPerson(ctx, svc, "--coach", coach)
			if err != nil {
				return err
			}
			journeyID, err := svc.Commands.Apply(ctx, intakeID, personID, coachID)
			if err != nil {
				return err
			}
			return c.emit(map[string]any{"journey": journeyID, "intake": intakeID, "person": personID}, func(w io.Writer) {
				fmt.Fprintf(w, "Application submitted: journey %s.\n", journeyID)
			})
		}),
	}
	f := cmd.Flags()
	f.StringVar(&intake, "intake", "", "the intake applied to")
	f.StringVar(&who, "person", "", "the participant (ID or e-mail address)")
	f.StringVar(&coach, "coach", "", "their coach, if already known (ID or e-mail address)")
	return cmd
}

func (c *cli) decideCommand() *cobra.Command {
	var intake, journey string
	cmd := &cobra.Command{
		Use:   "decide --journey JOURNEY [--intake INTAKE] offer|waitlist|reject",
		Short: "Record the coordinator's decision on an application",
		Long: `Record the coordinator's decision on an application. An offer is valid for
7 days; when it lapses or is declined the longest-waiting waitlisted
applicant is offered the place. --intake defaults to the journey's intake.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: c.action(func(ctx context.Context, a []string) error {
			d := workflows.Decision(a[0])
			if err := oneOf("decision", a[0], string(workflows.DecisionOffer), string(workflows.DecisionWaitlist), string(workflows.DecisionReject)); err != nil {
				return err
			}
			journeyID, err := parseID("--journey", journey)
			if err != nil {
				return err
			}
			svc, err := c.service(ctx, true)
			if err != nil {
				return err
			}
			intakeID, err := journeyIntake(ctx, svc, intake, journeyID)
			if err != nil {
				return err
			}
			st, err := svc.Commands.Decide(ctx, intakeID, journeyID, d)
			if err != nil {
				return err
			}
			return c.emit(map[string]any{"journey": journeyID, "status": st}, func(w io.Writer) {
				fmt.Fprintf(w, "Journey %s: %s.\n", journeyID, st)
			})
		}),
	}
	cmd.Flags().StringVar(&journey, "journey", "", "the application's journey")
	cmd.Flags().StringVar(&intake, "intake", "", "the intake (default: the journey's)")
	return cmd
}

// journeyIntake is the intake given by flag, or else the journey's own.
func journeyIntake(ctx context.Context, svc *app.App, flag string, journeyID uuid.UUID) (uuid.UUID, error) {
	if flag != "" {
		return parseID("--intake", flag)
	}
	j, err := svc.Views.Journey(ctx, journeyID)
	if err != nil {
		return uuid.Nil, fmt.Errorf("finding journey %s's intake (or give --intake): %w", journeyID, err)
	}
	return j.IntakeID, nil
}

func (c *cli) offerCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "offer accept|decline JOURNEY",
		Short: "Accept or decline an offered place (the participant's answer)",
		Args:  args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := oneOf("answer", a[0], "accept", "decline"); err != nil {
				return err
			}
			return c.onJourney(func(ctx context.Context, svc *app.App, id uuid.UUID, _ []string) (any, string, error) {
				st, err := svc.Commands.RespondToOffer(ctx, id, a[0] == "accept")
				return map[string]any{"journey": id, "status": st}, fmt.Sprintf("Journey %s: %s.", id, st), err
			})(cmd, a[1:])
		},
	}
}

func (c *cli) attendanceCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "attendance JOURNEY SESSION present|absent",
		Short: `Record whether a participant attended a lab session (e.g. "adaption-lab/1")`,
		Args:  args(cobra.ExactArgs(3)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := oneOf("attendance", a[2], "present", "absent"); err != nil {
				return err
			}
			return c.onJourney(func(ctx context.Context, svc *app.App, id uuid.UUID, rest []string) (any, string, error) {
				err := svc.Commands.RecordAttendance(ctx, id, rest[0], rest[1] == "present")
				return map[string]any{"journey": id, "session": rest[0], "attended": rest[1] == "present"},
					fmt.Sprintf("Journey %s: %s at %s.", id, rest[1], rest[0]), err
			})(cmd, a)
		},
	}
}

func (c *cli) journeyCommand() *cobra.Command {
	return group("journey", "Show a journey, or withdraw, defer, pause or resume it",
		c.journeyShowCommand(), c.journeyWithdrawCommand(), c.journeyDeferCommand(),
		c.journeyPauseResumeCommand("pause"), c.journeyPauseResumeCommand("resume"), c.journeyAssignCoachCommand())
}

func (c *cli) journeyShowCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "show JOURNEY",
		Short: "Show where a journey is, what is coming up and what has happened",
		Args:  args(cobra.ExactArgs(1)),
		RunE: c.onID("journey", true, func(ctx context.Context, svc *app.App, id uuid.UUID, _ []string) (any, func(io.Writer), error) {
			d, err := svc.Views.JourneyDetail(ctx, id)
			return wire.JourneyDetailOf(d), func(w io.Writer) { printJourney(w, d) }, err
		}),
	}
}

func printJourney(w io.Writer, d views.JourneyDetail) {
	j := d.Journey
	p := d.Participant
	fmt.Fprintf(w, "Journey %s: %s (%s, %s)\n", j.JourneyID, p.Name, orDash(p.LocalAuthority), orDash(p.Theme))
	fmt.Fprintf(w, "Intake:  %s (%s)\n", orDash(d.IntakeName), j.IntakeID)
	fmt.Fprintf(w, "Coach:   %s\n", orDash(d.Coach.Name))
	fmt.Fprintf(w, "State:   %s, phase %s\n", j.State, orDash(j.Phase))
	if v := d.Live; v != nil {
		printLive(w, v)
	} else {
		why := "the workflow has ended and been removed"
		if d.LiveCause != nil {
			why = "its workflow could not be asked: " + d.LiveCause.Error()
		}
		fmt.Fprintf(w, "(this is the store's record: %s)\n", why)
	}
	if len(d.Upcoming) > 0 {
		fmt.Fprintln(w, "\nUpcoming:")
		rows := make([][]string, len(d.Upcoming))
		for i, u := range d.Upcoming {
			rows[i] = []string{"  " + when(u.At), u.What, orDash(u.ItemID), orDash(u.Detail)}
		}
		table(w, []string{"  WHEN", "WHAT", "ITEM", "DETAIL"}, rows)
	}
	fmt.Fprintln(w, "\nTimeline:")
	rows := make([][]string, len(d.Timeline))
	for i, e := range d.Timeline {
		rows[i] = []string{"  " + when(e.At), e.Event, orDash(e.Item), orDash(string(e.State))}
	}
	table(w, []string{"  WHEN", "EVENT", "ITEM", "STATE"}, rows)
}

func printLive(w io.Writer, v *workflows.JourneyView) {
	if !v.OfferLapsesAt.IsZero() {
		fmt.Fprintf(w, "Offer:   lapses %s\n", when(v.OfferLapsesAt))
	}
	if !v.StartsOn.IsZero() {
		fmt.Fprintf(w, "Dates:   %s to %s\n", day(v.StartsOn), day(v.EndsAt))
	}
	if v.SessionsTotal > 0 {
		fmt.Fprintf(w, "Labs:    attended %d of %d sessions\n", v.SessionsAttended, v.SessionsTotal)
	}
	for _, it := range append(append([]workflows.ItemView{}, v.Tasks...), v.Checkpoints...) {
		state := "due " + when(it.DueAt)
		switch {
		case !it.CompletedAt.IsZero():
			state = "done " + when(it.CompletedAt)
			if it.RAG != "" {
				state += " (" + string(it.RAG) + ")"
			}
		case it.Overdue:
			state = "OVERDUE since " + when(it.DueAt)
		}
		fmt.Fprintf(w, "  %-14s %s\n", it.ID, state)
	}
	if v.Outcome != nil {
		fmt.Fprintf(w, "Outcome: %+v\n", *v.Outcome)
	}
}

func (c *cli) journeyWithdrawCommand() *cobra.Command {
	var reason, note, by string
	cmd := &cobra.Command{
		Use:   "withdraw JOURNEY --reason CODE [--note TEXT] --by PERSON",
		Short: "End a journey early, with a reason",
		Args:  args(cobra.ExactArgs(1)),
		RunE: c.onJourney(func(ctx context.Context, svc *app.App, id uuid.UUID, _ []string) (any, string, error) {
			if err := oneOf("--reason", reason, workflows.WithdrawReasons...); err != nil {
				return nil, "", err
			}
			author, err := person(ctx, svc, "--by", by)
			if err != nil {
				return nil, "", err
			}
			err = svc.Commands.Withdraw(ctx, id, author, reason, note)
			return map[string]any{"journey": id, "status": contract.StatusWithdrawn, "reason": reason},
				fmt.Sprintf("Journey %s withdrawn (%s).", id, reason), err
		}),
	}
	f := cmd.Flags()
	f.StringVar(&reason, "reason", "", "why: "+strings.Join(workflows.WithdrawReasons, ", "))
	f.StringVar(&note, "note", "", "free text, kept in the store (never in Temporal)")
	f.StringVar(&by, "by", "", "who is recording it (ID or e-mail address)")
	return cmd
}

func (c *cli) journeyDeferCommand() *cobra.Command {
	var to string
	cmd := &cobra.Command{
		Use:   "defer JOURNEY --to INTAKE",
		Short: "Move a participant, with their progress, to a later intake",
		Args:  args(cobra.ExactArgs(1)),
		RunE: c.onJourney(func(ctx context.Context, svc *app.App, id uuid.UUID, _ []string) (any, string, error) {
			target, err := parseID("--to", to)
			if err != nil {
				return nil, "", err
			}
			next, err := svc.Commands.Defer(ctx, id, target)
			return map[string]any{"journey": id, "newJourney": next, "intake": target},
				fmt.Sprintf("Journey %s deferred to intake %s as journey %s.", id, target, next), err
		}),
	}
	cmd.Flags().StringVar(&to, "to", "", "the later intake")
	return cmd
}

func (c *cli) journeyPauseResumeCommand(verb string) *cobra.Command {
	short := "Pause a journey: its clock stops until it is resumed"
	if verb == "resume" {
		short = "Resume a paused journey; what is ahead moves by the length of the pause"
	}
	return &cobra.Command{
		Use:   verb + " JOURNEY",
		Short: short,
		Args:  args(cobra.ExactArgs(1)),
		RunE: c.onJourney(func(ctx context.Context, svc *app.App, id uuid.UUID, _ []string) (any, string, error) {
			do := svc.Commands.Pause
			if verb == "resume" {
				do = svc.Commands.Resume
			}
			return map[string]any{"journey": id, "done": verb}, fmt.Sprintf("Journey %s: %sd.", id, verb), do(ctx, id)
		}),
	}
}

func (c *cli) journeyAssignCoachCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "assign-coach JOURNEY COACH",
		Short: "Give a journey its coach (ID or e-mail address)",
		Args:  args(cobra.ExactArgs(2)),
		RunE: c.onJourney(func(ctx context.Context, svc *app.App, id uuid.UUID, rest []string) (any, string, error) {
			coach, err := person(ctx, svc, "COACH", rest[0])
			if err != nil {
				return nil, "", err
			}
			return map[string]any{"journey": id, "coach": coach},
				fmt.Sprintf("Journey %s: coach assigned.", id), svc.Commands.AssignCoach(ctx, id, coach)
		}),
	}
}

func (c *cli) checkpointCommand() *cobra.Command {
	var coach, status, notes, requestID string
	complete := &cobra.Command{
		Use:   "complete JOURNEY CHECKPOINT --coach PERSON --status red|amber|green --notes TEXT",
		Short: `Complete a coaching checkpoint (e.g. "checkpoint/1") with notes`,
		Args:  args(cobra.ExactArgs(2)),
		RunE: c.onJourney(func(ctx context.Context, svc *app.App, id uuid.UUID, rest []string) (any, string, error) {
			if err := oneOf("--status", status, string(workflows.RAGRed), string(workflows.RAGAmber), string(workflows.RAGGreen)); err != nil {
				return nil, "", err
			}
			coachID, err := person(ctx, svc, "--coach", coach)
			if err != nil {
				return nil, "", err
			}
			t, err := svc.Commands.CompleteCheckpoint(ctx, commands.Checkpoint{
				JourneyID: id, CheckpointID: rest[0], CoachID: coachID, Notes: notes,
				Status: workflows.RAG(status), RequestID: requestID,
			})
			return wire.TaskDone(rest[0], t), fmt.Sprintf("Journey %s: %s completed (%s).", id, rest[0], status), err
		}),
	}
	f := complete.Flags()
	f.StringVar(&coach, "coach", "", "the journey's coach (ID or e-mail address)")
	f.StringVar(&status, "status", "", "red, amber or green")
	f.StringVar(&notes, "notes", "", "the coaching notes (kept in the store, never in Temporal)")
	f.StringVar(&requestID, "request-id", "", "any unique text; repeating a command with the same one completes the checkpoint once")
	return group("checkpoint", "Coaching checkpoints (coaches)", complete)
}

func (c *cli) taskCommand() *cobra.Command {
	var by, text, requestID string
	submit := &cobra.Command{
		Use:   "submit JOURNEY plan|reflection --by PERSON --text TEXT",
		Short: "Hand in the experiment plan or the final reflection",
		Args:  args(cobra.ExactArgs(2)),
		RunE: c.onJourney(func(ctx context.Context, svc *app.App, id uuid.UUID, rest []string) (any, string, error) {
			if err := oneOf("task", rest[0], "plan", "reflection"); err != nil {
				return nil, "", err
			}
			author, err := person(ctx, svc, "--by", by)
			if err != nil {
				return nil, "", err
			}
			t, err := svc.Commands.SubmitTask(ctx, id, author, rest[0], text, requestID)
			return wire.TaskDone(rest[0], t), fmt.Sprintf("Journey %s: %s handed in.", id, rest[0]), err
		}),
	}
	f := submit.Flags()
	f.StringVar(&by, "by", "", "who hands it in (ID or e-mail address)")
	f.StringVar(&text, "text", "", "the plan or reflection itself (kept in the store, never in Temporal)")
	f.StringVar(&requestID, "request-id", "", "any unique text; repeating a command with the same one hands in once")
	return group("task", "Participants' tasks", submit)
}
