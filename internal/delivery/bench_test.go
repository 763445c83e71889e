package delivery_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/infuse-cymru/journeys/internal/delivery"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/store/pgstore"
	"github.com/infuse-cymru/journeys/internal/store/sqlitestore"
)

// BenchmarkDeliver measures the whole path, outbox → composer (reading the
// recipient from the store) → SMTP on loopback → marked sent: each iteration
// queues 1,000 messages (250 people, 4 each) that all fall due at the same
// instant and drains them with one DeliverDue, with the default options
// (batches of 100, 4 recipients at a time, a new SMTP connection per message).
// It reports messages per second and the lag from the moment all 1,000 are
// due and delivery starts to the mail server having each message (p50, p99,
// max). In production Run's poll interval (default 10s) comes on top.
//
//	go test ./internal/delivery/ -run '^$' -bench Deliver -benchtime 3x
func BenchmarkDeliver(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchDeliver(b, sqlitestore.OpenTest(b)) })
	b.Run("postgres", func(b *testing.B) { benchDeliver(b, pgstore.OpenTest(b)) })
}

func benchDeliver(b *testing.B, st store.Store) {
	const people, each = 250, 4
	ctx := context.Background()
	f := newFixture(b, st, delivery.Options{})
	var ids []uuid.UUID
	for i := range people {
		ids = append(ids, f.person(fmt.Sprintf("P%d", i)).ID)
	}
	// Real time: the lag is measured against the wall clock.
	f.d = delivery.New(st, textComposer{st}, mustSMTP(b, f.srv), delivery.Options{})
	var lags []time.Duration
	var elapsed time.Duration
	total := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		due := time.Now()
		before := len(f.srv.Received())
		for range each {
			f.queue("session.reminder", due, ids...)
		}
		b.StartTimer()
		start := time.Now() // all 1,000 are due from here on
		stats, err := f.d.DeliverDue(ctx)
		elapsed += time.Since(start)
		b.StopTimer()
		if err != nil || stats.Sent != people*each {
			b.Fatalf("DeliverDue = %+v, %v; want %d sent", stats, err, people*each)
		}
		got := f.srv.Received()[before:]
		for _, r := range got {
			lags = append(lags, r.At.Sub(start))
		}
		total += len(got)
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lags)
	q := func(p float64) float64 { return lags[int(p*float64(len(lags)-1))].Seconds() * 1000 }
	b.ReportMetric(float64(total)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(q(0.50), "p50-lag-ms")
	b.ReportMetric(q(0.99), "p99-lag-ms")
	b.ReportMetric(q(1), "max-lag-ms")
}

func mustSMTP(b *testing.B, srv *mailServer) *delivery.SMTP {
	s, err := delivery.NewSMTP(delivery.SMTPConfig{Host: srv.host(), Port: srv.port(), TLS: delivery.NoTLS, Timeout: 5 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	return s
}
