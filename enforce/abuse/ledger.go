package abuse

// entry is one ledger file.
type entry struct {
	Case      string `json:"case"`
	Version   int    `json:"version"`
	Action    int    `json:"action"`
	Target    string `json:"target"`
	Recipient string `json:"recipient"`
	MessageID string `json:"message_id"`
	SHA256    string `json:"sha256"` // of the message as sent
	SentAt    string `json:"sent_at"`
	Via       string `json:"via"` // "smtp <relay>" or "dir <path>"
}
