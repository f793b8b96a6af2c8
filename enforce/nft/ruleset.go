package nft

import (
	"fmt"
	"slices"
	"sync"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Names of acd's sets.
const (
	Set4 = "block4"
	Set6 = "block6"
)

// setIDMu guards google/nftables' package-level set id counter, which
// AddSet increments without a lock.
var setIDMu sync.Mutex

// ruleset is what the adapter installs: its table, its two sets and a
// base chain per configured hook.
type ruleset struct {
	table      *nftables.Table
	set4, set6 *nftables.Set
	chains     []*nftables.Chain
}

func newRuleset(cfg Config) *ruleset {
	t := &nftables.Table{Family: nftables.TableFamilyINet, Name: cfg.Table}
	rs := &ruleset{
		table: t,
		set4:  &nftables.Set{Table: t, Name: Set4, KeyType: nftables.TypeIPAddr, Interval: true, HasTimeout: true},
		set6:  &nftables.Set{Table: t, Name: Set6, KeyType: nftables.TypeIP6Addr, Interval: true, HasTimeout: true},
	}
	accept := nftables.ChainPolicyAccept
	for _, h := range cfg.Hooks {
		hook := nftables.ChainHookInput
		if h == HookForward {
			hook = nftables.ChainHookForward
		}
		rs.chains = append(rs.chains, &nftables.Chain{Name: h, Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: hook, Priority: nftables.ChainPriorityRef(nftables.ChainPriority(cfg.Priority)), Policy: &accept})
	}
	return rs
}

// set returns the set for addresses of bytes length (4 or 16).
func (rs *ruleset) set(bytes int) *nftables.Set {
	if bytes == 4 {
		return rs.set4
	}
	return rs.set6
}

// rules returns the two rules of a chain: "ip saddr @block4 counter
// drop" and "ip6 saddr @block6 counter drop".
func (rs *ruleset) rules(c *nftables.Chain) []*nftables.Rule {
	mk := func(proto byte, offset, length uint32, s *nftables.Set) *nftables.Rule {
		return &nftables.Rule{Table: rs.table, Chain: c, Exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: offset, Len: length},
			&expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID},
			&expr.Counter{},
			&expr.Verdict{Kind: expr.VerdictDrop},
		}}
	}
	return []*nftables.Rule{
		mk(unix.NFPROTO_IPV4, 12, 4, rs.set4),
		mk(unix.NFPROTO_IPV6, 8, 16, rs.set6),
	}
}

// addTable queues the whole table, its sets holding els4 and els6, its
// chains and rules.
func (rs *ruleset) addTable(conn *nftables.Conn, els4, els6 []nftables.SetElement) error {
	conn.AddTable(rs.table)
	for _, s := range []*nftables.Set{rs.set4, rs.set6} {
		s.ID = 0 // a fresh id for this batch
		setIDMu.Lock()
		err := conn.AddSet(s, nil)
		setIDMu.Unlock()
		if err != nil {
			return fmt.Errorf("unable to queue set %s: %w", s.Name, err)
		}
	}
	if err := addElements(conn, rs.set4, els4); err != nil {
		return err
	}
	if err := addElements(conn, rs.set6, els6); err != nil {
		return err
	}
	for _, c := range rs.chains {
		rs.addChain(conn, c)
	}
	return nil
}

// addChain queues chain c and its rules.
func (rs *ruleset) addChain(conn *nftables.Conn, c *nftables.Chain) {
	conn.AddChain(c)
	for _, r := range rs.rules(c) {
		conn.AddRule(r)
	}
}

// chunk is the number of elements per netlink message: a message's
// element list is one attribute, at most 64 KiB.
const chunk = 256

func addElements(conn *nftables.Conn, s *nftables.Set, els []nftables.SetElement) error {
	for c := range slices.Chunk(els, chunk) {
		if err := conn.SetAddElements(s, c); err != nil {
			return fmt.Errorf("unable to queue elements of set %s: %w", s.Name, err)
		}
	}
	return nil
}

func deleteElements(conn *nftables.Conn, s *nftables.Set, els []nftables.SetElement) error {
	for c := range slices.Chunk(els, chunk) {
		if err := conn.SetDeleteElements(s, c); err != nil {
			return fmt.Errorf("unable to queue the deletion of elements of set %s: %w", s.Name, err)
		}
	}
	return nil
}
