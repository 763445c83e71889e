package telemetry

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/infuse-cymru/journeys/internal/store"
)

// Figures is what the metrics read from the store (both backends have it,
// see internal/store/opsstats.go): one query per metric family, so a scrape costs
// four queries however many journeys and messages there are.
type Figures interface {
	OutboxByStatus(ctx context.Context) ([]store.OutboxCount, error)
	OldestDueMessage(ctx context.Context, now time.Time) (time.Time, error)
	OverdueCheckpoints(ctx context.Context) (int, error)
	JourneysByPhase(ctx context.Context) ([]store.JourneyCount, error)
}

// scrapeTimeout bounds the store's queries in one scrape: Prometheus gives
// up on a scrape after 10 s by default, and the SDK's metrics must still
// get through when the database hangs.
const scrapeTimeout = 5 * time.Second

// noPhase is the phase label of journeys not yet in the programme (their
// phase is empty, and an empty label value is the same as no label).
const noPhase = "none"

var (
	outboxDesc = prometheus.NewDesc("infuse_outbox_messages",
		"Messages in the outbox by status: queued (not yet sent, due or not), sent, failed (given up).",
		[]string{"status"}, nil)
	lagDesc = prometheus.NewDesc("infuse_outbox_lag_seconds",
		"How long the oldest message that is due and not sent has been due (0 when none is): delivery is behind by this much.",
		nil, nil)
	overdueDesc = prometheus.NewDesc("infuse_checkpoints_overdue",
		"Coaching checkpoints past their due time and not completed, on journeys that have not ended.",
		nil, nil)
	journeysDesc = prometheus.NewDesc("infuse_journeys",
		"Journeys by programme phase (none before the programme starts) and state, as the store's projections show them.",
		[]string{"phase", "state"}, nil)
)

// WatchStore adds the store's figures to the metrics, read at every scrape.
func (m *Metrics) WatchStore(f Figures) {
	m.registry.MustRegister(&storeCollector{figures: f, now: time.Now})
}

// storeCollector reads the store's figures when Prometheus scrapes.
type storeCollector struct {
	figures Figures
	now     func() time.Time
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{outboxDesc, lagDesc, overdueDesc, journeysDesc} {
		ch <- d
	}
}

// Collect sends each family, or an error in its place (which the handler
// logs, serving the rest).
func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	for _, family := range []struct {
		desc    *prometheus.Desc
		collect func(context.Context, chan<- prometheus.Metric) error
	}{{outboxDesc, c.outbox}, {lagDesc, c.lag}, {overdueDesc, c.overdue}, {journeysDesc, c.journeys}} {
		if err := family.collect(ctx, ch); err != nil {
			ch <- prometheus.NewInvalidMetric(family.desc, err)
		}
	}
}

// outbox always reports queued, sent and failed, at 0 when there are none,
// so an alert on them has a series to look at.
func (c *storeCollector) outbox(ctx context.Context, ch chan<- prometheus.Metric) error {
	counts, err := c.figures.OutboxByStatus(ctx)
	if err != nil {
		return err
	}
	byStatus := map[store.MessageStatus]int{store.MessageQueued: 0, store.MessageSent: 0, store.MessageFailed: 0}
	for _, n := range counts {
		byStatus[n.Status] = n.Messages
	}
	for status, n := range byStatus {
		ch <- prometheus.MustNewConstMetric(outboxDesc, prometheus.GaugeValue, float64(n), string(status))
	}
	return nil
}

func (c *storeCollector) lag(ctx context.Context, ch chan<- prometheus.Metric) error {
	now := c.now()
	oldest, err := c.figures.OldestDueMessage(ctx, now)
	if err != nil {
		return err
	}
	lag := 0.0
	if !oldest.IsZero() {
		lag = now.Sub(oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, lag)
	return nil
}

func (c *storeCollector) overdue(ctx context.Context, ch chan<- prometheus.Metric) error {
	n, err := c.figures.OverdueCheckpoints(ctx)
	if err != nil {
		return err
	}
	ch <- prometheus.MustNewConstMetric(overdueDesc, prometheus.GaugeValue, float64(n))
	return nil
}

func (c *storeCollector) journeys(ctx context.Context, ch chan<- prometheus.Metric) error {
	counts, err := c.figures.JourneysByPhase(ctx)
	if err != nil {
		return err
	}
	for _, n := range counts {
		phase := n.Phase
		if phase == "" {
			phase = noPhase
		}
		ch <- prometheus.MustNewConstMetric(journeysDesc, prometheus.GaugeValue, float64(n.Journeys), phase, n.State)
	}
	return nil
}
