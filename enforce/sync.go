package enforce

import (
	"context"
	"fmt"
	"time"

	"github.com/acd-org/acd/audit"
	"github.com/acd-org/acd/cases"
)

// Item is one action in effect: action Index of Case, which the
// equipment behind an adapter must hold until it is withdrawn. The
// reconciler hands an adapter the items of its type.
type Item struct {
	Case   cases.Case
	Index  int
	Action cases.Action
	// Since is when the action was executed (zero when unknown); the
	// verify stage compares the traffic before and after it.
	Since time.Time
}

// Key identifies the item: "<case id>/<index>". Adapters that tag what
// they install (a set element comment, a BGP community, an RPZ record)
// use it to recognise their own entries.
func (it Item) Key() string { return ItemKey(it.Case.ID, it.Index) }

// ItemKey is Item.Key for a case id and an action index.
func ItemKey(caseID string, i int) string { return fmt.Sprintf("%s/%d", caseID, i) }

// Syncer is an Adapter whose effect lives on equipment that can drift
// (a rule removed by hand, a BGP session reset, a zone reloaded): Sync
// compares what the equipment holds of acd's with desired and repairs
// the difference. The reconciler calls it periodically and after every
// restart with every item of the adapter's action types in effect.
type Syncer interface {
	Adapter
	// Sync makes the equipment hold exactly desired: it installs what is
	// missing, removes what acd installed that is not desired (expired,
	// withdrawn while acd was down), and never touches anything acd did
	// not install. It reports what it found and did; an error means the
	// equipment could not be read or repaired (it is retried next run).
	Sync(ctx context.Context, desired []Item) (Drift, error)
}

// Drift is what one Sync found and repaired.
type Drift struct {
	// Desired is the number of items asked for.
	Desired int `json:"desired"`
	// Missing were desired but absent from the equipment (installed
	// again); Extra were acd's on the equipment but not desired
	// (removed); Changed were present but different (rewritten).
	Missing int `json:"missing"`
	Extra   int `json:"extra"`
	Changed int `json:"changed"`
	// Details names each repair ("missing 198.51.100.7 (case-1/0)"), at
	// most a few dozen.
	Details []string `json:"details,omitempty"`
}

// Total is the number of repairs.
func (d Drift) Total() int { return d.Missing + d.Extra + d.Changed }

// Dossier is what one-shot adapters send about a case (an abuse report,
// a police request): the case, the approvals of its current version,
// its frozen evidence document (cases.Evidence.Doc, verifiable against
// Case.EvidenceHash) and the audit entries about it so far.
type Dossier struct {
	Case      cases.Case       `json:"case"`
	Approvals []cases.Approval `json:"approvals"`
	Evidence  []byte           `json:"evidence"`
	Audit     []audit.Entry    `json:"audit"`
}

// DossierSource returns a case's dossier (the store implements it).
type DossierSource interface {
	Dossier(ctx context.Context, caseID string) (Dossier, error)
}
