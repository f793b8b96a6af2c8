package abuse

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// received is one message the test relay accepted.
type received struct {
	from string
	to   []string
	data []byte
	tls  bool   // the session ran over STARTTLS
	user string // the AUTH PLAIN user, if any
}

// relay is an SMTP server on loopback that keeps what it accepts.
type relay struct {
	addr string
	mu   sync.Mutex
	msgs []received
	// refuseRcpt and refuseData, when set, are returned at RCPT or DATA.
	refuseRcpt, refuseData error
}

func startRelay(t *testing.T) *relay { return startRelayTLS(t, nil) }

// startRelayTLS starts a relay offering STARTTLS with cfg (none when nil)
// and AUTH PLAIN for acd/s3cret.
func startRelayTLS(t *testing.T, cfg *tls.Config) *relay {
	t.Helper()
	r := &relay{}
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) { return &session{r: r, c: c}, nil }))
	s.TLSConfig = cfg
	s.Domain = "relay.test"
	s.ErrorLog = log.New(io.Discard, "", 0)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = l.Addr().String()
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(l) }()
	t.Cleanup(func() { _ = s.Close(); <-done })
	return r
}

func (r *relay) messages() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.msgs...)
}

func (r *relay) refuse(rcpt, data error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refuseRcpt, r.refuseData = rcpt, data
}

type session struct {
	r    *relay
	c    *gosmtp.Conn
	from string
	to   []string
	user string
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "acd" || pass != "s3cret" {
			return errors.New("invalid credentials")
		}
		s.user = user
		return nil
	}), nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }
func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.refuseRcpt != nil {
		return s.r.refuseRcpt
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(rd io.Reader) error {
	var b bytes.Buffer
	if _, err := io.Copy(&b, rd); err != nil {
		return err
	}
	s.r.mu.Lock()
	defer s.r.mu.Unlock()
	if s.r.refuseData != nil {
		return s.r.refuseData
	}
	_, isTLS := s.c.TLSConnectionState()
	s.r.msgs = append(s.r.msgs, received{from: s.from, to: s.to, data: b.Bytes(), tls: isTLS, user: s.user})
	return nil
}

var errRefused = &gosmtp.SMTPError{Code: 554, EnhancedCode: gosmtp.EnhancedCode{5, 7, 1}, Message: "policy refusal"}
