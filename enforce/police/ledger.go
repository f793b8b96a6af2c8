package police

// entry is one ledger file.
type entry struct {
	Case     string `json:"case"`
	Version  int    `json:"version"`
	Action   int    `json:"action"`
	Channel  string `json:"channel"`
	File     string `json:"file"`
	SHA256   string `json:"sha256"` // of the package file
	HandedAt string `json:"handed_at"`
}
