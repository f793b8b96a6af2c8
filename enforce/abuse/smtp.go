package abuse

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"os"
)

// smtpSender delivers messages through one relay with net/smtp.
type smtpSender struct {
	cfg   SMTPConfig
	from  string // envelope sender
	roots *x509.CertPool
}

// loadRoots reads cfg.CAFile (nil: the system's roots).
func loadRoots(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("unable to read smtp.ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("unable to read smtp.ca_file %s: no PEM certificate in it", file)
	}
	return pool, nil
}

// send delivers msg to rcpt. Any failure, including a 4xx or 5xx reply
// to any command up to the end of DATA, is returned: then the relay has
// not accepted the message.
func (s *smtpSender) send(ctx context.Context, rcpt string, msg []byte) (err error) {
	timeout := s.cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.cfg.Relay)
	if err != nil {
		return fmt.Errorf("unable to connect to relay %s: %w", s.cfg.Relay, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	host, _, _ := net.SplitHostPort(s.cfg.Relay)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		_ = conn.Close()
		return fmt.Errorf("unable to talk to relay %s: %w", s.cfg.Relay, err)
	}
	defer func() { _ = c.Close() }()
	if err := s.session(c, host, rcpt, msg); err != nil {
		if ctx.Err() != nil {
			err = errors.Join(err, ctx.Err())
		}
		return fmt.Errorf("relay %s: %w", s.cfg.Relay, err)
	}
	return nil
}

func (s *smtpSender) session(c *smtp.Client, host, rcpt string, msg []byte) error {
	helo := s.cfg.HELO
	if helo == "" {
		helo = "localhost"
	}
	if err := c.Hello(helo); err != nil {
		return fmt.Errorf("EHLO refused: %w", err)
	}
	if err := s.startTLS(c, host); err != nil {
		return err
	}
	if s.cfg.Username != "" {
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("the relay offers no AUTH and a username is configured")
		}
		if err := c.Auth(smtp.PlainAuth("", s.cfg.Username, s.cfg.Password, host)); err != nil {
			return fmt.Errorf("authentication as %s failed: %w", s.cfg.Username, err)
		}
	}
	if err := c.Mail(s.from); err != nil {
		return fmt.Errorf("MAIL FROM:<%s> refused: %w", s.from, err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fmt.Errorf("RCPT TO:<%s> refused: %w", rcpt, err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA refused: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("unable to write the message: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("message refused: %w", err)
	}
	// The message is accepted; a failed QUIT does not change that.
	_ = c.Quit()
	return nil
}

func (s *smtpSender) startTLS(c *smtp.Client, host string) error {
	offered, _ := c.Extension("STARTTLS")
	switch {
	case s.cfg.StartTLS != nil && !*s.cfg.StartTLS:
		return nil
	case !offered && s.cfg.StartTLS != nil:
		return errors.New("the relay does not offer STARTTLS and smtp.starttls is true")
	case !offered:
		return nil
	}
	if err := c.StartTLS(&tls.Config{ServerName: host, RootCAs: s.roots, MinVersion: tls.VersionTLS12}); err != nil {
		return fmt.Errorf("STARTTLS failed: %w", err)
	}
	return nil
}
