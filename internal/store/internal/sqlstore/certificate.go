package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/infuse-cymru/journeys/internal/store"
)

// CertificateColumns are the certificates table's columns, in the order
// ScanCertificate reads them.
const CertificateColumns = `code, journey_id, person_id, intake_id, issued_at`

// ScanCertificate reads CertificateColumns, giving the code its printed form.
func ScanCertificate(row Scanner) (store.Certificate, error) {
	var c store.Certificate
	err := row.Scan(&c.Code, uuidCol{&c.JourneyID}, uuidCol{&c.PersonID}, uuidCol{&c.IntakeID}, timeCol{&c.IssuedAt})
	c.Code = store.FormatCertificateCode(c.Code)
	return c, err
}

// codeAttempts is how many fresh codes IssueCertificate tries before giving
// up. With 2^50 codes a single collision is already unlikely in the life
// of the programme; several in a row mean something else is wrong.
const codeAttempts = 5

// issueCertificate is the body of Store.IssueCertificate's transaction, for
// a certificate prepared by store.PrepareCertificate. insert adds c (with
// its code in stored form) unless its journey already has a certificate or
// its code is taken, reporting whether it did; get reads the journey's
// certificate (sql.ErrNoRows if there is none).
func issueCertificate(c store.Certificate, insert func(store.Certificate) (bool, error),
	get func() (store.Certificate, error)) (store.Certificate, error) {
	for range codeAttempts {
		code, err := store.NewCertificateCode()
		if err != nil {
			return store.Certificate{}, err
		}
		c.Code = code
		added, err := insert(c)
		if err != nil {
			return store.Certificate{}, fmt.Errorf("issuing the certificate of journey %s: %w", c.JourneyID, err)
		}
		old, err := get()
		if errors.Is(err, sql.ErrNoRows) && !added {
			continue // the code was taken: draw another
		}
		if err != nil {
			return store.Certificate{}, fmt.Errorf("issuing the certificate of journey %s: %w", c.JourneyID, err)
		}
		if old.PersonID != c.PersonID || old.IntakeID != c.IntakeID {
			return store.Certificate{}, fmt.Errorf("issuing the certificate of journey %s: %w: it was issued to person %s in intake %s",
				c.JourneyID, store.ErrConflict, old.PersonID, old.IntakeID)
		}
		return old, nil
	}
	return store.Certificate{}, fmt.Errorf("issuing the certificate of journey %s: %d random codes in a row were taken", c.JourneyID, codeAttempts)
}

// CertificateNotFound is VerifyCertificate's error for a code that is not
// one (or not issued).
func CertificateNotFound(code string) error {
	return fmt.Errorf("certificate with code %q: %w", code, store.ErrNotFound)
}
