package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/acd-org/acd/peertest"
)

// consoleTab drives the console in one browser tab. Every failure
// takes a screenshot and reports the page's #flash text.
type consoleTab struct {
	t     *testing.T
	ctx   context.Context // the tab's chromedp context
	base  string          // the console's URL, without the trailing slash
	loads int             // makes each open a full page load
	fails int             // numbers the failure screenshots
}

// evalJS evaluates expr in the page and decodes its value (awaiting a
// promise) into T.
func evalJS[T any](c *consoleTab, expr string) (T, error) {
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
}

// jsQuote makes s a JavaScript string literal.
func jsQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// fail reports a failure with the page's state and a screenshot.
func (c *consoleTab) fail(format string, args ...any) {
	c.t.Helper()
	shot := c.failShot()
	state, _ := evalJS[string](c, `location.hash + " page=" + (document.querySelector("main#page")?.dataset.page ?? "none") +
		" ready=" + (document.querySelector("main#page")?.dataset.ready ?? "no") +
		" flash=" + JSON.stringify(document.querySelector("#flash")?.textContent ?? "")`)
	c.t.Fatalf("%s\npage: %s\nscreenshot: %s", fmt.Sprintf(format, args...), state, shot)
}

// do runs actions with a deadline.
func (c *consoleTab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		c.fail("%s: %v", what, err)
	}
}

// until polls cond, a JavaScript expression, until it is true.
func (c *consoleTab) until(what string, timeout time.Duration, cond string) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ok, err := evalJS[bool](c, "!!("+cond+")")
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			c.fail("%s: not within %s (%s; last error: %v)", what, timeout, cond, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// pageReady is the condition of a page drawn with its data.
func pageReady(page string) string {
	return fmt.Sprintf(`document.querySelector('main#page[data-page=%q][data-ready="1"]')`, page)
}

// open loads the console at a hash route (a full page load) and waits
// for the element sel, inside the drawn page, to be there.
func (c *consoleTab) open(route, sel string) {
	c.t.Helper()
	c.loads++
	c.do("open #/"+route, chromedp.Navigate(fmt.Sprintf("%s/?load=%d#/%s", c.base, c.loads, route)))
	c.until("#/"+route+" drawn", 30*time.Second, sel)
}

// count returns how many elements match sel.
func (c *consoleTab) count(sel string) int {
	c.t.Helper()
	n, err := evalJS[int](c, fmt.Sprintf(`document.querySelectorAll(%s).length`, jsQuote(sel)))
	if err != nil {
		c.fail("count %s: %v", sel, err)
	}
	return n
}

// attr returns the attribute of the first element matching sel, "" if none.
func (c *consoleTab) attr(sel, name string) string {
	c.t.Helper()
	v, err := evalJS[string](c, fmt.Sprintf(`document.querySelector(%s)?.getAttribute(%s) ?? ""`, jsQuote(sel), jsQuote(name)))
	if err != nil {
		c.fail("read %s of %s: %v", name, sel, err)
	}
	return v
}

func (c *consoleTab) shot(name string) { peertest.Screenshot(c.t, c.ctx, name) }

// failShot takes the screenshot of a failure, console-failed-N.png.
func (c *consoleTab) failShot() string {
	c.fails++
	return peertest.Screenshot(c.t, c.ctx, "console-failed-"+strconv.Itoa(c.fails))
}

// login logs in at #/login and checks the navigation shows the entries
// of want and none of not.
func (c *consoleTab) login(name string, u browserDemoUser, want, not []string) {
	c.t.Helper()
	c.open("login", `document.querySelector("form#login")`)
	c.do("log in as "+name,
		chromedp.SendKeys(chromedp.CSS(`form#login input[name=name]`), name),
		chromedp.SendKeys(chromedp.CSS(`form#login input[name=password]`), u.Password),
		chromedp.Click(chromedp.CSS(`form#login button[type=submit]`)))
	c.until("logged in as "+name, 20*time.Second,
		`document.querySelector("nav#nav") || document.querySelector("#login-error")?.textContent.trim()`)
	if msg, _ := evalJS[string](c, `document.querySelector("nav#nav") ? "" : document.querySelector("#login-error").textContent`); msg != "" {
		c.fail("log in as %s refused: %s", name, msg)
	}
	c.until("#whoami shows "+name, 10*time.Second,
		fmt.Sprintf(`document.querySelector("#whoami")?.textContent.includes(%s)`, jsQuote(name)))
	for _, entry := range append(want, not...) {
		shown := c.count(fmt.Sprintf(`nav#nav a[data-nav=%q]`, entry)) > 0
		if wanted := slices.Contains(want, entry); shown != wanted {
			c.t.Errorf("%s (%v): nav entry %q shown: %v, want %v", name, u.Roles, entry, shown, wanted)
		}
	}
}

// logout clicks the logout button and waits for the login form.
func (c *consoleTab) logout() {
	c.t.Helper()
	c.do("log out", chromedp.Click(chromedp.ID("logout")))
	c.until("back at the login form", 15*time.Second, `document.querySelector("form#login")`)
}

// pageFetch is a fetch made from the page.
type pageFetch struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
}

// post POSTs body (JSON) to path from the page with the session's
// cookie and CSRF token, as the console's own script does.
func (c *consoleTab) post(path string, body any) pageFetch {
	c.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		c.t.Fatal(err)
	}
	r, err := evalJS[pageFetch](c, fmt.Sprintf(`(async () => {
		const info = await (await fetch("/console/session", {credentials: "same-origin"})).json();
		const r = await fetch(%s, {method: "POST", credentials: "same-origin",
			headers: {"Content-Type": "application/json", "X-CSRF-Token": info.csrf_token}, body: %s});
		return {status: r.status, body: await r.text()};
	})()`, jsQuote(path), jsQuote(string(b))))
	if err != nil {
		c.fail("POST %s from the page: %v", path, err)
	}
	return r
}

// get fetches path from the page with the session's cookie and decodes
// its JSON answer into v.
func (c *consoleTab) get(path string, v any) {
	c.t.Helper()
	r, err := evalJS[pageFetch](c, fmt.Sprintf(`(async () => {
		const r = await fetch(%s, {credentials: "same-origin"});
		return {status: r.status, body: await r.text()};
	})()`, jsQuote(path)))
	if err != nil || r.Status != 200 {
		c.fail("GET %s from the page: %d %s %v", path, r.Status, r.Body, err)
	}
	if err := json.Unmarshal([]byte(r.Body), v); err != nil {
		c.fail("GET %s: %v", path, err)
	}
}

// expect checks cond within timeout without stopping the test: a miss is
// reported with a screenshot.
func (c *consoleTab) expect(what string, timeout time.Duration, cond string) bool {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if ok, err := evalJS[bool](c, "!!("+cond+")"); err == nil && ok {
			return true
		}
		if time.Now().After(deadline) {
			shot := c.failShot()
			c.t.Errorf("%s: not within %s (%s); screenshot: %s", what, timeout, cond, shot)
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// flashErrorJS is the condition of an error shown in #flash.
const flashErrorJS = `document.querySelector('#flash[data-kind="error"]')?.textContent.trim()`

// act waits for cond after an action, failing at once with the error
// the page shows in #flash.
func (c *consoleTab) act(what string, timeout time.Duration, cond string) {
	c.t.Helper()
	c.until(what, timeout, "("+cond+") || "+flashErrorJS)
	if msg, _ := evalJS[string](c, flashErrorJS+` ?? ""`); msg != "" {
		if ok, _ := evalJS[bool](c, "!!("+cond+")"); !ok {
			c.fail("%s: the console says: %s", what, msg)
		}
	}
}

// casePageReady is the condition of case id's page, drawn.
func casePageReady(id string) string {
	return fmt.Sprintf(`document.querySelector('main#page[data-ready="1"] #case-state') && location.hash === %s`,
		jsQuote("#/cases/"+url.PathEscape(id)))
}

// noActionButtons checks that who, who may not act on the case, sees none
// of the commissioners' and operators' controls.
func (c *consoleTab) noActionButtons(who string) {
	c.t.Helper()
	for _, sel := range []string{"#approve", "#reject", "#key-file", "#execute", "#emergency"} {
		if c.count(sel) != 0 {
			c.t.Errorf("%s sees %s on the case page, want none", who, sel)
		}
	}
}

// filterSuspects shows the suspects of one role with #filter-role
// (applied by its form or its change event) and waits a little for row.
func (c *consoleTab) filterSuspects(role, row string) {
	c.t.Helper()
	_, err := evalJS[bool](c, fmt.Sprintf(`(() => {
		const s = document.querySelector("#filter-role");
		s.value = %s;
		s.dispatchEvent(new Event("change", {bubbles: true}));
		if (s.form) s.form.requestSubmit();
		return true;
	})()`, jsQuote(role)))
	if err != nil {
		c.fail("filter the suspects by role %s: %v", role, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ok, _ := evalJS[bool](c, fmt.Sprintf(`!!document.querySelector('main#page[data-ready="1"] '+%s)`, jsQuote(row))); ok {
			c.shot("suspects-filtered")
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	c.t.Logf("filter #filter-role=%s: no %s within 10 s", role, row)
}

// pickSuspect returns a suspect to open a case on, and its role: an
// outside address (not a pseudonym) no case targets yet, a C2 first,
// then a scanner, then a brute forcer.
func (c *consoleTab) pickSuspect() (string, string) {
	c.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var suspects struct {
			Suspects []struct {
				Address   string   `json:"address"`
				Roles     []string `json:"roles"`
				Pseudonym bool     `json:"pseudonym"`
			} `json:"suspects"`
		}
		var cs struct {
			Cases []struct {
				Target   json.RawMessage `json:"target"`
				Suspects []string        `json:"suspects"`
			} `json:"cases"`
		}
		c.get("/api/v1/suspects?limit=1000", &suspects)
		c.get("/api/v1/cases?limit=1000", &cs)
		taken := map[string]bool{}
		for _, k := range cs.Cases {
			for _, s := range k.Suspects {
				taken[s] = true
			}
			taken[strings.Trim(string(k.Target), `"`)] = true
		}
		for _, role := range []string{"c2", "scanner", "bruteforce"} {
			for _, s := range suspects.Suspects {
				if !s.Pseudonym && !taken[s.Address] && slices.Contains(s.Roles, role) {
					c.t.Logf("opening a case on suspect %s %v", s.Address, s.Roles)
					return s.Address, role
				}
			}
		}
		if time.Now().After(deadline) {
			c.fail("no outside C2, scanner or brute forcer without a case among %d suspects within 90 s", len(suspects.Suspects))
		}
		time.Sleep(2 * time.Second)
	}
}

// fillCaseForm fills form#case-form for a block of the whole address
// (any protocol, no ports: what a CrowdSec ban, the demo's enforcer, can
// express) and what the form leaves empty: the legal basis, a duration, a
// justification; the other selects keep their choice. It returns the fields as sent, for the log.
func (c *consoleTab) fillCaseForm(legalBasis string) string {
	c.t.Helper()
	fields, err := evalJS[string](c, fmt.Sprintf(`((legalBasis) => {
		const f = document.querySelector("form#case-form");
		const set = (el, v) => {
			el.value = v;
			el.dispatchEvent(new Event("input", {bubbles: true}));
			el.dispatchEvent(new Event("change", {bubbles: true}));
		};
		for (const el of f.elements) {
			if (!el.name || el.disabled || el.type === "hidden" || el.type === "submit") continue;
			if (el.tagName === "SELECT") {
				if (el.name === "action" || el.name === "type") {
					if ([...el.options].some(o => o.value === "block")) set(el, "block");
				} else if (el.name === "protocol") {
					if ([...el.options].some(o => o.value === "")) set(el, "");
				} else if (!el.value) {
					const o = [...el.options].find(o => o.value);
					if (o) set(el, o.value);
				}
				continue;
			}
			if (el.name === "ports") set(el, "");
			if (el.value) continue;
			if (el.name === "legal_basis") set(el, legalBasis);
			else if (el.name === "duration") set(el, "1h");
			else if (el.tagName === "TEXTAREA" || el.name === "justification" || el.name === "reason")
				set(el, "Browser test: stop this attack server.");
		}
		return [...f.elements].filter(el => el.name).map(el => el.name + "=" + JSON.stringify(el.value)).join(" ");
	})(%s)`, jsQuote(legalBasis)))
	if err != nil {
		c.fail("fill form#case-form: %v", err)
	}
	return fields
}
