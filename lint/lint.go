// Package lint holds tests that check the repository's own rules: every
// package has a doc comment, and imports follow the data path (collect →
// minimize → detect → intel/cases → enforce → verify; only cmd/acd wires
// everything). It has no code of its own.
package lint
