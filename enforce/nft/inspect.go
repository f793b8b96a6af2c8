package nft

import (
	"fmt"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

// state is what the kernel holds of acd's table.
type state struct {
	tableExists bool
	setsOK      bool              // both sets exist with the right type and flags
	badChains   []string          // configured chains present but wrong
	missChains  []string          // configured chains absent
	strayChains []string          // base chains of acd's table on hooks no longer configured
	problems    []string          // what is wrong, for Drift.Details
	segs        map[int][]segment // by key length (4, 16), when setsOK
}

// inspect reads acd's table: structure and, when the sets are sound,
// their elements.
func (a *Adapter) inspect() (*state, error) {
	rs, conn := a.rs, a.conn
	st := &state{segs: map[int][]segment{}}
	tables, err := conn.ListTablesOfFamily(nftables.TableFamilyINet)
	if err != nil {
		return nil, fmt.Errorf("unable to list tables: %w", err)
	}
	st.tableExists = slices.ContainsFunc(tables, func(t *nftables.Table) bool { return t.Name == rs.table.Name })
	if !st.tableExists {
		st.problems = append(st.problems, "table inet "+rs.table.Name+" missing")
		return st, nil
	}
	if err := a.inspectSets(st); err != nil {
		return nil, err
	}
	if err := a.inspectChains(st); err != nil {
		return nil, err
	}
	return st, nil
}

func (a *Adapter) inspectSets(st *state) error {
	sets, err := a.conn.GetSets(a.rs.table)
	if err != nil {
		return fmt.Errorf("unable to list the sets of table %s: %w", a.rs.table.Name, err)
	}
	st.setsOK = true
	for _, want := range []*nftables.Set{a.rs.set4, a.rs.set6} {
		i := slices.IndexFunc(sets, func(s *nftables.Set) bool { return s.Name == want.Name })
		if i < 0 {
			st.setsOK = false
			st.problems = append(st.problems, "set "+want.Name+" missing")
			continue
		}
		s := sets[i]
		if s.KeyType.Name != want.KeyType.Name || !s.Interval || !s.HasTimeout || s.IsMap || s.Concatenation {
			st.setsOK = false
			st.problems = append(st.problems, fmt.Sprintf("set %s has type %s (interval %t, timeout %t)",
				s.Name, s.KeyType.Name, s.Interval, s.HasTimeout))
		}
	}
	if !st.setsOK {
		return nil
	}
	now := a.now()
	for _, s := range []*nftables.Set{a.rs.set4, a.rs.set6} {
		els, err := a.conn.GetSetElements(s)
		if err != nil {
			return fmt.Errorf("unable to read the elements of set %s: %w", s.Name, err)
		}
		segs, err := decodeElements(els, int(s.KeyType.Bytes), now)
		if err != nil {
			return fmt.Errorf("unable to read set %s: %w", s.Name, err)
		}
		st.segs[int(s.KeyType.Bytes)] = segs
	}
	return nil
}

func (a *Adapter) inspectChains(st *state) error {
	all, err := a.conn.ListChainsOfTableFamily(nftables.TableFamilyINet)
	if err != nil {
		return fmt.Errorf("unable to list chains: %w", err)
	}
	var have []*nftables.Chain
	for _, c := range all {
		if c.Table != nil && c.Table.Name == a.rs.table.Name {
			have = append(have, c)
		}
	}
	for _, want := range a.rs.chains {
		i := slices.IndexFunc(have, func(c *nftables.Chain) bool { return c.Name == want.Name })
		if i < 0 {
			st.missChains = append(st.missChains, want.Name)
			st.problems = append(st.problems, "chain "+want.Name+" missing")
			continue
		}
		if why := a.chainProblem(have[i], want); why != "" {
			st.badChains = append(st.badChains, want.Name)
			st.problems = append(st.problems, "chain "+want.Name+" "+why)
		}
	}
	for _, c := range have {
		configured := slices.ContainsFunc(a.rs.chains, func(w *nftables.Chain) bool { return w.Name == c.Name })
		if !configured && (c.Name == HookInput || c.Name == HookForward) {
			st.strayChains = append(st.strayChains, c.Name)
			st.problems = append(st.problems, "chain "+c.Name+" not configured")
		}
	}
	return nil
}

// chainProblem says what is wrong with chain c (want's name), "" if
// nothing.
func (a *Adapter) chainProblem(c, want *nftables.Chain) string {
	if c.Hooknum == nil || *c.Hooknum != *want.Hooknum || c.Priority == nil || *c.Priority != *want.Priority ||
		c.Type != want.Type || c.Policy == nil || *c.Policy != *want.Policy {
		return "has another hook, type, priority or policy"
	}
	rules, err := a.conn.GetRules(a.rs.table, c)
	if err != nil {
		return "unreadable: " + err.Error()
	}
	wantRules := a.rs.rules(want)
	if len(rules) != len(wantRules) {
		return fmt.Sprintf("has %d rules, want %d", len(rules), len(wantRules))
	}
	for i, r := range rules {
		if !sameRule(r.Exprs, wantRules[i].Exprs) {
			return fmt.Sprintf("rule %d differs", i+1)
		}
	}
	return ""
}

// sameRule compares a rule read from the kernel with one the adapter
// writes, ignoring counter values and set ids.
func sameRule(got, want []expr.Any) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		switch w := want[i].(type) {
		case *expr.Meta:
			g, ok := got[i].(*expr.Meta)
			if !ok || g.Key != w.Key || g.Register != w.Register {
				return false
			}
		case *expr.Cmp:
			g, ok := got[i].(*expr.Cmp)
			if !ok || g.Op != w.Op || g.Register != w.Register || string(g.Data) != string(w.Data) {
				return false
			}
		case *expr.Payload:
			g, ok := got[i].(*expr.Payload)
			if !ok || g.Base != w.Base || g.Offset != w.Offset || g.Len != w.Len || g.DestRegister != w.DestRegister {
				return false
			}
		case *expr.Lookup:
			g, ok := got[i].(*expr.Lookup)
			if !ok || g.SetName != w.SetName || g.SourceRegister != w.SourceRegister || g.Invert {
				return false
			}
		case *expr.Counter:
			if _, ok := got[i].(*expr.Counter); !ok {
				return false
			}
		case *expr.Verdict:
			g, ok := got[i].(*expr.Verdict)
			if !ok || g.Kind != w.Kind {
				return false
			}
		default:
			return false
		}
	}
	return true
}
