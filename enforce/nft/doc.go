// Package nft carries out acd's block actions in the Linux kernel's
// nftables, through netlink (github.com/google/nftables), without the nft
// command. Adapter is an enforce.Syncer for cases.ActionBlock.
//
// It owns one table (inet family, default "acd") and nothing else:
//
//	table inet acd {
//		set block4 { type ipv4_addr; flags interval,timeout; }
//		set block6 { type ipv6_addr; flags interval,timeout; }
//		chain forward { type filter hook forward priority -10; policy accept;
//			ip saddr @block4 counter drop
//			ip6 saddr @block6 counter drop
//		}
//		chain input { … the same two rules … }
//	}
//
// Each element of block4/block6 is an address range with a timeout (the
// time left until the latest not_after of the actions it carries, plus
// the configured slack: if acd dies, the kernel still lifts the block)
// and a comment naming those actions' item keys ("<case>/<index>",
// space separated). A target blocked by several actions is one element;
// nested targets (a /24 inside a blocked /16) are split into disjoint
// ranges, each with the latest end of the targets covering it.
//
// Blocks narrowed by protocol or ports are refused (ErrUnsupported):
// the sets match source addresses only.
package nft
