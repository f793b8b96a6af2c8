package peertest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// The parsers below read what peers print; they must reject garbage
// without panicking.

func FuzzParseNfdumpLine(f *testing.F) {
	f.Add("6    | 2001:db8:1::120| 42172|  2001:db8:2::18|   443|      13|    1773|2025-06-01 12:00:01.866|2025-06-01 12:00:02.382")
	f.Add("1    |       10.0.0.44|     0|   198.51.100.18|   8.0|       1|      84|2025-06-01 12:00:04.740|2025-06-01 12:00:04.740")
	f.Fuzz(func(t *testing.T, line string) {
		fl, err := parseNfdumpLine(line)
		if err == nil && (!fl.Src.IsValid() || !fl.Dst.IsValid()) {
			t.Errorf("parseNfdumpLine(%q) = %v without error", line, fl)
		}
	})
}

func FuzzParseSfacctdCSV(f *testing.F) {
	f.Add([]byte("SRC_IP,DST_IP,SRC_PORT,DST_PORT,PROTOCOL,PACKETS,BYTES\n10.0.0.160,198.51.100.22,37986,53,udp,3,310\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = parseSfacctdCSV(b)
	})
}

func FuzzAddSocketState(f *testing.F) {
	f.Add([]byte("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n" +
		"  100: 0100007F:9C40 00000000:0000 07 00000000:00000200 00:00000000 00000000     0        0 1 2 0000000000000000 3\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var st SocketState
		_ = addSocketState(b, 0x9c40, &st)
	})
}

func FuzzReadDatagrams(f *testing.F) {
	for _, dir := range []string{"../collect/netflow/testdata", "../collect/sflow/testdata"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.pcap"))
		for _, p := range files {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b[:min(len(b), 4096)])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = readDatagrams(bytes.NewReader(b))
	})
}
