package taxii_test

import (
	"testing"
	"time"

	"github.com/acd-org/acd/intel/taxii"
	"github.com/acd-org/acd/intel/taxii/storetest"
)

// TestMemStoreConformance runs the Store conformance suite (shared with
// the SQLite store) on MemStore.
func TestMemStoreConformance(t *testing.T) {
	storetest.Run(t, func(_ *testing.T, now func() time.Time) taxii.Store { return taxii.NewMemStore(now) })
}
