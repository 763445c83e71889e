package web_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// offSite are "next" addresses that lead off the site, each as a browser
// reads a Location header: tabs and line breaks are removed (so "/\t/x" is
// "//x"), a backslash is a slash, and a scheme or host is another site.
var offSite = []string{
	"//evil.example/",
	"/\t/evil.example/",
	"/\n/evil.example/",
	"/\r/evil.example/",
	"/\\evil.example/",
	"\\/evil.example/",
	"https://evil.example/",
	"javascript:alert(1)",
	" //evil.example/",
	"evil.example",
}

// The language toggle, reachable without signing in, sends nobody to
// another site, whatever its next says: the Location it answers is "/"
// for each address above, and a local one is kept.
func TestLanguageToggleRedirectsOnlyOnTheSite(t *testing.T) {
	s := newSite(t, siteOptions{})
	b := s.browser()
	for _, next := range offSite {
		if a := b.get("/lang/en?next=" + url.QueryEscape(next)); a.Header.Get("Location") != "/" {
			t.Errorf("next=%q: the toggle answered Location %q, want /", next, a.Header.Get("Location"))
		}
	}
	for _, next := range []string{"/signin", "/journeys/42?tab=plan", "/intakes/x#people"} {
		if a := b.get("/lang/en?next=" + url.QueryEscape(next)); a.Header.Get("Location") != next {
			t.Errorf("next=%q: the toggle answered Location %q, want it kept", next, a.Header.Get("Location"))
		}
	}
}

// The same in Chromium: following the toggle's redirect, the browser stays
// on the site. (A string check alone would miss what browsers do to the
// Location header, which is how "/\t/evil.example" got out.)
func TestLanguageToggleStaysOnTheSiteInChromium(t *testing.T) {
	s := newSite(t, siteOptions{})
	tb := newTab(t, s.srv.URL)
	site, err := url.Parse(s.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	for _, next := range offSite {
		ctx, cancel := context.WithTimeout(tb.ctx, 20*time.Second)
		// Navigating off the site fails here (no such host): the error is
		// expected then, and where the tab ended up is what counts.
		_, _ = chromedp.Run(ctx, chromedp.Navigate(s.srv.URL+"/lang/en?next="+url.QueryEscape(next)))
		cancel()
		at, err := url.Parse(tb.location())
		if err != nil || at.Host != site.Host {
			t.Errorf("next=%q: Chromium went to %s, off the site", next, tb.location())
		}
	}
}
