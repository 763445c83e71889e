package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/google/uuid"
	"github.com/spf13/cobra"

	"github.com/infuse-cymru/journeys/internal/app/apperr"
	"github.com/infuse-cymru/journeys/internal/certificate"
	"github.com/infuse-cymru/journeys/internal/store"
)

func (c *cli) certificateCommand() *cobra.Command {
	return group("certificate", "Completion certificates: check a verification code, or write a certificate's PDF",
		c.certificateVerifyCommand(), c.certificateShowCommand())
}

func (c *cli) certificateVerifyCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "verify CODE",
		Short: "Say whose certificate a verification code belongs to (exit 4 if no certificate has it)",
		Long: `Look up the verification code printed on a completion certificate and say
whose it is, for which intake, and when they completed. Case, dashes and
spaces in the code do not matter. A code no certificate has exits with 4.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: c.action(func(ctx context.Context, a []string) error {
			st, err := c.store(ctx, false)
			if err != nil {
				return err
			}
			issued, err := st.VerifyCertificate(ctx, a[0])
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("%w: no certificate has the code %q: it is not genuine, or was mistyped", apperr.ErrNotFound, a[0])
			}
			if err != nil {
				return err
			}
			desc, err := certificate.Describe(ctx, st, issued)
			if err != nil {
				return err
			}
			name := "(name erased)"
			if p, err := st.GetPerson(ctx, issued.PersonID); err == nil {
				name = strings.TrimSpace(p.GivenName + " " + p.FamilyName)
			} else if !errors.Is(err, store.ErrNotFound) {
				return err
			}
			cy, en := certificate.Dates(desc.CompletedAt, desc.Location)
			return c.emit(map[string]any{
				"code": issued.Code, "journey": issued.JourneyID, "person": issued.PersonID, "name": name,
				"intake": issued.IntakeID, "intakeName": desc.IntakeName, "completedAt": issued.IssuedAt,
			}, func(w io.Writer) {
				fmt.Fprintf(w, "Certificate %s is genuine.\n", issued.Code)
				fmt.Fprintf(w, "  %s completed %s, %s, on %s (%s).\n", name, certificate.ProgrammeName, desc.IntakeName, en, cy)
				fmt.Fprintf(w, "  Journey %s.\n", issued.JourneyID)
			})
		}),
	}
}

func (c *cli) certificateShowCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "show JOURNEY --out FILE.pdf",
		Short: "Write the completion certificate of a completed journey as a PDF",
		Long: `Write the completion certificate of a completed journey to a PDF file,
issuing it (and its verification code) if it has not been issued yet: it is
the certificate the participant received with their completion e-mail.
A journey that has not completed has no certificate (exit 3).`,
		Args: args(cobra.ExactArgs(1)),
		RunE: c.action(func(ctx context.Context, a []string) error {
			journeyID, err := parseID("journey", a[0])
			if err != nil {
				return err
			}
			if strings.TrimSpace(out) == "" {
				return usage("--out is required: the PDF file to write")
			}
			st, err := c.store(ctx, false)
			if err != nil {
				return err
			}
			cert, issued, err := certificate.ForJourney(ctx, st, journeyID)
			if err != nil {
				return certificateError(journeyID, err)
			}
			pdf, err := certificate.Render(cert)
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, pdf, 0o644); err != nil {
				return fmt.Errorf("writing the certificate: %w", err)
			}
			return c.emit(map[string]any{"code": issued.Code, "journey": journeyID, "file": out, "bytes": len(pdf)}, func(w io.Writer) {
				fmt.Fprintf(w, "Certificate %s of %s written to %s.\n", issued.Code, cert.ParticipantName, out)
			})
		}),
	}
	cmd.Flags().StringVar(&out, "out", "", "the PDF file to write")
	return cmd
}

// certificateError maps what stops a certificate to the exit codes.
func certificateError(journeyID uuid.UUID, err error) error {
	switch {
	case errors.Is(err, certificate.ErrNotCompleted):
		return fmt.Errorf("%w: %w: only a completed journey has a certificate", apperr.ErrRejected, err)
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%w: journey %s: %w", apperr.ErrNotFound, journeyID, err)
	}
	return err
}
