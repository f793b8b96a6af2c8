package ui

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// helperRunner evaluates each expression of the input (a JSON array of
// strings) in the browser with the console's helpers in scope, and
// answers each result as JSON (or {"error": ...}). %s is the input.
const helperRunner = `(async (exprs) => {
  const { h, put, table } = await import('/assets/js/dom.js');
  const { rows } = await import('/assets/js/overview.js');
  const { lastSync } = await import('/assets/js/sharing.js');
  const { baselineReadyAt } = await import('/assets/js/cases.js');
  const html = (el) => el.outerHTML;
  return JSON.stringify(exprs.map((src) => {
    try {
      return JSON.stringify(eval(src));
    } catch (e) {
      return JSON.stringify({ error: e.message });
    }
  }));
})(%s)`

// TestHelpersInBrowser runs the helpers the pages draw with in Chromium:
// h and put never write an absent value as text ("null", "undefined"),
// and show 0; the overview's rows break the lines where the server saw
// nothing; the sharing page's last sync is the latest of the poller's
// and the store's; the case page's baseline time is the verify window
// after the first whole minute the target is counted.
func TestHelpersInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	tcs := []struct {
		name, expr, want string
	}{
		{"null attrs, a child", `html(h('td', null, 'x'))`, `"<td>x</td>"`},
		{"null first child", `html(h('td', null))`, `"<td></td>"`},
		{"undefined first child", `html(h('td', undefined, h('i', 'y')))`, `"<td><i>y</i></td>"`},
		{"zero first child", `html(h('td', 0))`, `"<td>0</td>"`},
		{"zero child", `html(h('td', { class: 'n' }, 0))`, `"<td class=\"n\">0</td>"`},
		{"null dataset entry", `html(h('tr', { dataset: { id: 'r1', status: null, x: undefined } }))`, `"<tr data-id=\"r1\"></tr>"`},
		{"null attribute", `html(h('a', { href: null, title: 'x' }))`, `"<a title=\"x\"></a>"`},
		{"nulls in arrays", `html(h('div', [null, 'a', [undefined, false, 'b']]))`, `"<div>ab</div>"`},
		{"put skips absent", `html(put(document.createElement('p'), null, undefined, false, 'z'))`, `"<p>z</p>"`},
		{"table with a null row", `html(table('t', ['a'], [null]))`, `"<table id=\"t\" class=\"grid \"><thead><tr><th>a</th></tr></thead><tbody></tbody></table>"`},
		{"rows: no gap", `rows([{time: '2026-03-01T12:00:00Z'}, {time: '2026-03-01T12:00:10Z'}], 35).map(r => [r.x, !!r.o])`,
			`[[1772366400,true],[1772366410,true]]`},
		{"rows: a gap", `rows([{time: '2026-03-01T12:00:00Z'}, {time: '2026-03-01T12:01:00Z'}, {time: '2026-03-01T12:01:02Z'}], 35).map(r => [r.x, !!r.o])`,
			`[[1772366400,true],[1772366430,false],[1772366460,true],[1772366462,true]]`},
		{"last sync: poll later", `lastSync({last_sync: '2026-03-01T12:00:00Z', last_poll: '2026-03-01T12:05:00Z'})`, `{"at":"2026-03-01T12:05:00Z","kind":"poll"}`},
		{"last sync: store later", `lastSync({last_sync: '2026-03-01T12:10:00Z', last_poll: '2026-03-01T12:05:00Z'})`, `{"at":"2026-03-01T12:10:00Z","kind":"sync"}`},
		{"last sync: poll only", `lastSync({last_poll: '2026-03-01T12:05:00Z'})`, `{"at":"2026-03-01T12:05:00Z","kind":"poll"}`},
		{"last sync: store only", `lastSync({last_sync: '2026-03-01T12:10:00Z'})`, `{"at":"2026-03-01T12:10:00Z","kind":"sync"}`},
		{"last sync: never", `lastSync({})`, `{"at":"","kind":"never"}`},
		{"baseline: opened mid-minute", `new Date(baselineReadyAt('2026-03-01T12:00:20Z', 60)).toISOString()`, `"2026-03-01T12:02:00.000Z"`},
		{"baseline: opened just before a minute", `new Date(baselineReadyAt('2026-03-01T12:00:57Z', 60)).toISOString()`, `"2026-03-01T12:03:00.000Z"`},
		{"baseline: 5 min window", `new Date(baselineReadyAt('2026-03-01T12:00:20Z', 300)).toISOString()`, `"2026-03-01T12:06:00.000Z"`},
		{"baseline: no time", `baselineReadyAt(undefined, 60)`, `null`},
	}
	exprs := make([]string, len(tcs))
	for i, c := range tcs {
		exprs[i] = c.expr
	}
	input, err := json.Marshal(exprs)
	if err != nil {
		t.Fatal(err)
	}
	ctx, base := browserAt(t)
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(rctx, chromedp.Navigate(base+"/blank")); err != nil {
		t.Fatalf("opening a page in Chromium: %v", err)
	}
	res, err := chromedp.Run(rctx, chromedp.Evaluate[string](fmt.Sprintf(helperRunner, input), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("running the helpers in Chromium: %v", err)
	}
	var out []string
	if err := json.Unmarshal([]byte(res), &out); err != nil || len(out) != len(tcs) {
		t.Fatalf("the browser answered %s (%v)", res, err)
	}
	for i, c := range tcs {
		t.Run(c.name, func(t *testing.T) {
			if out[i] != c.want {
				t.Errorf("%s\n got: %s\nwant: %s", c.expr, out[i], c.want)
			}
		})
	}
}
