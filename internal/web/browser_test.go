package web_test

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/infuse-cymru/journeys/dev/testdeps"
	"github.com/infuse-cymru/journeys/internal/store"
	"github.com/infuse-cymru/journeys/internal/web"
)

// chromiumPath is Debian's chromium package.
const chromiumPath = "/usr/bin/chromium"

// artefactsEnv names the folder screenshots go to; testdata/artefacts by default.
const artefactsEnv = "INFUSE_ARTEFACTS"

// tab is one headless Chromium tab driven by a test.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string // the site's URL
	dir  string // where screenshots go
}

// newTab starts headless Chromium for the test, or skips the test when
// it is not installed (fails, under scripts/test: see package testdeps).
func newTab(t *testing.T, base string) *tab {
	t.Helper()
	testdeps.Command(t, chromiumPath, "apt-get install -y --no-install-recommends chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	dir := os.Getenv(artefactsEnv)
	if dir == "" {
		dir = filepath.Join("testdata", "artefacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tb := &tab{t: t, ctx: ctx, base: base, dir: dir}
	// The first action starts the browser, which lives as long as the
	// context of that action: so it runs on the tab's own context, not a
	// step's timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting %s: %v", chromiumPath, err)
	}
	return tb
}

func (tb *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		tb.t.Fatalf("browser: %v (at %s)", err, tb.location())
	}
}

func run[T any](tb *tab, a chromedp.Action[T]) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
	return v
}

func (tb *tab) location() string {
	ctx, cancel := context.WithTimeout(tb.ctx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	return loc
}

// open loads a page of the site and waits for it.
func (tb *tab) open(path string) {
	tb.t.Helper()
	tb.do(chromedp.Navigate(tb.base+path), chromedp.WaitReady(chromedp.CSS("body")))
}

// submit clicks a button or link and waits for the page it leads to,
// whose path starts with want.
func (tb *tab) submit(css, want string) {
	tb.t.Helper()
	tb.leave()
	tb.do(chromedp.Click(chromedp.CSS(css)))
	tb.arrive("clicking "+css, want)
}

// leave marks the page shown, so that arrive tells a new page apart from
// it, even when the new one has the same address.
func (tb *tab) leave() {
	tb.t.Helper()
	run(tb, chromedp.Evaluate[bool](`window.leftBehind = true`))
}

// arrive waits, after what was done to leave the marked page, for a new
// page whose path starts with want.
func (tb *tab) arrive(what, want string) {
	tb.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		loc := tb.location()
		u, err := url.Parse(loc)
		fresh := run(tb, chromedp.Evaluate[bool](`window.leftBehind !== true && document.readyState === 'complete'`))
		if err == nil && fresh && strings.HasPrefix(u.Path, want) {
			return
		}
		if time.Now().After(deadline) {
			tb.t.Fatalf("%s: at %s after 20 s, want a new page at %s…", what, loc, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// shot saves a full-page PNG of the tab as name.png among the artefacts.
func (tb *tab) shot(name string) {
	tb.t.Helper()
	png := run(tb, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(tb.dir, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

func (tb *tab) text(css string) string {
	tb.t.Helper()
	return strings.TrimSpace(run(tb, chromedp.Text(chromedp.CSS(css))))
}

// signIn signs p in as they would from the e-mailed link: open it, press
// the button.
func (tb *tab) signIn(s *site, p store.Person, home string) {
	tb.t.Helper()
	secret, _, err := s.auth.NewSignInLink(context.Background(), p.ID)
	if err != nil {
		tb.t.Fatal(err)
	}
	tb.open(web.SignInPath(secret))
	tb.submit("main form button[type=submit]", home)
}

// axeEnv names axe-core's axe.min.js, the accessibility engine every
// page is checked with: scripts/test installs it (npm) and sets it.
const axeEnv = "INFUSE_AXE"

// axe is the source of axe-core, read once; "" when it is not installed,
// which fails the test under scripts/test (INFUSE_REQUIRE_DEPS=1) and
// elsewhere leaves the pages to the checks below.
var axe = sync.OnceValues(func() (string, error) {
	path := os.Getenv(axeEnv)
	if path == "" {
		return "", nil
	}
	src, err := os.ReadFile(path)
	return string(src), err
})

// axeMissing says once that axe-core is not there.
var axeMissing sync.Once

// wcag are the axe-core rules of the standard UK public bodies are held
// to: WCAG 2.2 A and AA (the Public Sector Bodies Accessibility
// Regulations 2018).
const wcag = `['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa']`

// checkAxe runs axe-core on the page and fails the test on each violation
// of WCAG 2.2 AA it finds, naming the elements.
func (tb *tab) checkAxe(page string) {
	tb.t.Helper()
	src, err := axe()
	switch {
	case err != nil:
		tb.t.Fatalf("reading axe-core (%s): %v", axeEnv, err)
	case src == "" && os.Getenv(testdeps.RequireEnv) == "1":
		tb.t.Fatalf("axe-core is missing and %s=1 requires it: set %s to its axe.min.js (scripts/test installs it with npm)", testdeps.RequireEnv, axeEnv)
	case src == "":
		axeMissing.Do(func() { tb.t.Logf("axe-core is not installed (%s): the pages are not checked with it", axeEnv) })
		return
	}
	run(tb, chromedp.Evaluate[bool](src+";\ntrue"))
	found := run(tb, chromedp.Evaluate[[]string](`axe.run(document, {runOnly: {type: 'tag', values: `+wcag+`}}).then(r =>
		r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.help + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))`,
		chromedp.EvalAwaitPromise))
	for _, v := range found {
		tb.t.Errorf("%s: axe-core: %s", page, v)
	}
}

// checkAccessible checks what a page must have for keyboard and
// screen-reader users: one h1, a lang attribute, a label for every
// control, a skip link that leads to the main content and is the first
// thing the Tab key reaches, and a scope on every table header.
func (tb *tab) checkAccessible(page string) {
	tb.t.Helper()
	tb.checkAxe(page)
	problems := run(tb, chromedp.Evaluate[[]string](`(() => {
		const out = [];
		const h1 = document.querySelectorAll('h1').length;
		if (h1 !== 1) out.push(h1 + ' h1 elements');
		if (!['cy', 'en'].includes(document.documentElement.lang)) out.push('lang is ' + document.documentElement.lang);
		for (const el of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
			if (!(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
				out.push('no label: ' + el.outerHTML);
		}
		for (const fs of document.querySelectorAll('fieldset')) {
			if (!fs.querySelector('legend')) out.push('fieldset without legend');
		}
		for (const th of document.querySelectorAll('th')) {
			if (!th.getAttribute('scope')) out.push('th without scope: ' + th.textContent.trim());
		}
		for (const b of document.querySelectorAll('button')) {
			if (!b.textContent.trim()) out.push('button without text');
		}
		const skip = document.querySelector('a.skip');
		if (!skip || !document.querySelector(skip.getAttribute('href'))) out.push('no working skip link');
		return out;
	})()`))
	for _, p := range problems {
		tb.t.Errorf("%s: %s", page, p)
	}
	// The first Tab reaches the skip link.
	run(tb, chromedp.Evaluate[bool](`(document.activeElement && document.activeElement.blur(), true)`))
	tb.do(chromedp.KeyEvent("\t"))
	if got := run(tb, chromedp.Evaluate[string](`document.activeElement.className`)); got != "skip" {
		tb.t.Errorf("%s: the first Tab reaches %q, want the skip link", page, got)
	}
	run(tb, chromedp.Evaluate[bool](`(document.activeElement.blur(), true)`)) // screenshots show the page at rest
}
