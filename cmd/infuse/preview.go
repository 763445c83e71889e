package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/preview"
	"github.com/infuse-cymru/journeys/internal/store"
)

func (c *cli) intakePreviewCommand() *cobra.Command {
	var verbose bool
	cmd := &cobra.Command{
		Use:   "preview INTAKE",
		Short: "List every message the intake's people would get, when and in which language, before it starts",
		Long: `Preview runs the intake's journeys from the opening of its application window
to the end of the programme under time skipping (the Temporal SDK's test
environment, so six months take seconds), with the real workflows and
activities against a throwaway in-memory copy of the intake and its people.
Then the real delivery path (the programme's delivery policy: quiet hours,
bank holidays, at most so many e-mails per person per day with the rest
folded into a digest; and the real e-mail rendering) drains that throwaway
outbox under the same fake clock, into a recorder: nothing is sent.

It lists every message each person would get: when it would be delivered
(Europe/London; "(digest)" when it is folded into a digest e-mail sent then),
the recipient, their role, the language (their preference: cy, en, or cy+en
when unknown: bilingual, Welsh first), the template and the item it is about.
With --verbose (and always in --json) it also shows when the workflow queues
each message, before the delivery policy moves it.

Nothing touches Temporal or the live store: only the store is read, and the
command works while Temporal is down.

The scenario, a plan in which everyone does everything on time:
  - Who takes part: before the intake starts, every open application
    (submitted, under review, waitlisted, offered, accepted), each assumed
    offered a place and accepting it; once started, everyone who accepted and
    has not left. Declined, lapsed, rejected, withdrawn and deferred ones are
    left out.
  - Applications are in a minute after the window opens, in the order people
    applied. A minute after it closes the coordinator offers places in that
    order up to the capacity and waitlists the rest (who are told they were not
    selected when the intake starts); ten minutes after it closes every offer
    is accepted.
  - The coordinator starts the intake at 09:00 on its start date.
  - Every participant attends every lab session (recorded an hour after it
    ends) and hands in the plan and the reflection a day before they are due;
    their coach completes every coaching checkpoint a day before it is due.
    A participant with no coach keeps none: the checkpoint reminders go to the
    coordinator, as they would for real, and the checkpoints stay open.
  - The intake's own dates, capacity, coordinator, coaches and programme
    version are used; sessions already moved with "intake reschedule" are
    shown at their planned times.

A large intake takes minutes (about one for 1,000 people on two cores): the
preview says on stderr which part of the simulation it is at, and allows
itself ten minutes unless --timeout is given.`,
		Args: args(cobra.ExactArgs(1)),
	}
	cmd.RunE = func(self *cobra.Command, a []string) error {
		budget := previewTimeout
		if f := self.Flag("timeout"); f != nil && f.Changed {
			budget = c.timeout
		}
		return c.action(func(ctx context.Context, a []string) error {
			id, err := parseID("intake", a[0])
			if err != nil {
				return err
			}
			began := time.Now()
			plan, err := c.preview(ctx, id, budget)
			if err != nil {
				return err
			}
			took := time.Since(began)
			return c.emit(plan, func(w io.Writer) { printPreview(w, plan, took, verbose) })
		})(self, a)
	}
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "also show when each message is queued, before the delivery policy moves it")
	return cmd
}

// preview opens the store as every command does (within --timeout), then
// previews the intake within budget: a simulation computes for longer
// than a command waits for Temporal and the store.
func (c *cli) preview(ctx context.Context, id uuid.UUID, budget time.Duration) (preview.Plan, error) {
	st, err := c.store(ctx, false)
	if err != nil {
		return preview.Plan{}, err
	}
	simulating, cancel := context.WithTimeout(context.WithoutCancel(ctx), budget)
	defer cancel()
	plan, err := preview.RunReporting(simulating, st, id, c.previewProgress(onTerminal(c.stderr)))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return plan, apperr.NoIntake(id)
	case err != nil && errors.Is(simulating.Err(), context.DeadlineExceeded):
		// Out of its own time, not waiting for a worker (explain's hint):
		// the error says so without wrapping the deadline.
		return plan, fmt.Errorf("the preview did not finish within %s (%v): a large intake takes minutes; "+
			"give it longer with --timeout", budget, err)
	}
	return plan, err
}

// previewProgress tells whoever waits, on stderr (stdout is the plan's),
// where a preview has got to: on a terminal a bar for each part of the
// simulation, as the simulated months pass; elsewhere (a log, a pipe) a
// line as each part starts; nothing with --json, whose reader is a program.
func (c *cli) previewProgress(terminal bool) func(preview.Progress) {
	if c.jsonOut {
		return nil
	}
	var bar *progressbar.ProgressBar
	return func(p preview.Progress) {
		if bar != nil && (p.Part == 0 || p.Day == 0) {
			_ = bar.Finish() // the part's last week ends between two reports
			bar = nil
		}
		switch {
		case p.Part == 0:
			fmt.Fprintf(c.stderr, "Delivering %s under the delivery policy...\n", counted(p.Messages, "message", "messages"))
		case p.Day > 0:
			if bar != nil {
				_ = bar.Set(p.Day)
			}
		case !terminal:
			fmt.Fprintln(c.stderr, simulating(p)+"...")
		default:
			bar = progressbar.NewOptions(p.Days, progressbar.OptionSetWriter(c.stderr),
				progressbar.OptionSetDescription(simulating(p)), progressbar.OptionSetItsString("days"),
				progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionFullWidth(),
				progressbar.OptionOnCompletion(func() { fmt.Fprintln(c.stderr) }))
		}
	}
}

// simulating says which part of a preview is being simulated.
func simulating(p preview.Progress) string {
	if p.Parts == 1 {
		return fmt.Sprintf("Simulating the journeys of %s", counted(p.People, "person", "people"))
	}
	return fmt.Sprintf("Simulating part %d of %d: the journeys of %s", p.Part, p.Parts, counted(p.People, "person", "people"))
}

// onTerminal says whether w is a terminal someone is watching.
func onTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// counted is n with the noun it counts: "1 person", "20 people".
func counted(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// previewTimeout is a preview's time when --timeout is not given: the 30
// s other commands wait for Temporal and the store is too little for the
// simulation of a large intake (about a minute for 1,000 people). A
// variable for the tests.
var previewTimeout = 10 * time.Minute

func printPreview(w io.Writer, p preview.Plan, took time.Duration, verbose bool) {
	fmt.Fprintf(w, "Preview of %s (%s), %s v%d\n", p.IntakeName, p.IntakeID, p.ProgrammeID, p.ProgrammeVersion)
	if p.Participants+p.Waitlisted == 0 {
		fmt.Fprintln(w, "Nobody to preview: the intake has no open applications or accepted participants.")
		return
	}
	fmt.Fprintf(w, "Scenario: %d applications in %s; %d offered places %s and accepting %s",
		p.Participants+p.Waitlisted, when(p.AppliedAt), p.Participants, when(p.OfferedAt), when(p.AcceptedAt))
	if p.Waitlisted > 0 {
		fmt.Fprintf(w, ", %d waitlisted (beyond capacity)", p.Waitlisted)
	}
	fmt.Fprintf(w, "; started %s; everyone attends every session and does everything a day early.\n\n", when(p.StartedAt))
	header := []string{"DELIVER AT", "RECIPIENT", "ROLE", "LANGUAGE", "TEMPLATE", "ITEM"}
	if verbose {
		header = slices.Insert(header, 1, "QUEUED AT")
	}
	rows := make([][]string, len(p.Lines))
	moved, folded, unsent := 0, 0, 0
	for i, l := range p.Lines {
		at := when(l.DeliverAt)
		switch {
		case l.DeliverAt.IsZero():
			at = "not sent"
			unsent++
		case l.Digest:
			at += " (digest)"
			folded++
		}
		if !l.DeliverAt.IsZero() && !l.DeliverAt.Equal(l.QueuedAt) {
			moved++
		}
		rows[i] = []string{at, orDash(l.RecipientName), l.Role, l.Language, l.Template, orDash(l.ItemID)}
		if verbose {
			rows[i] = slices.Insert(rows[i], 1, when(l.QueuedAt))
		}
	}
	table(w, header, rows)
	recipients := map[string]bool{}
	for _, l := range p.Lines {
		recipients[l.RecipientID.String()] = true
	}
	fmt.Fprintf(w, "\n%d messages to %d people in %d e-mails (simulated in %s).\n", len(p.Lines), len(recipients), p.Emails, took.Round(time.Millisecond))
	fmt.Fprintf(w, "The delivery policy moves %d of them (quiet hours, bank holidays, the daily cap) and folds %d into digests.\n", moved, folded)
	if unsent > 0 {
		fmt.Fprintf(w, "%d would not be sent (such as to someone with no usable e-mail address).\n", unsent)
	}
	for _, problem := range p.Problems {
		fmt.Fprintf(w, "Note: the scenario could not be followed: %s\n", problem)
	}
}
