package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/acd-org/acd/store"
)

// maxKeyFile bounds the size of a key file read.
const maxKeyFile = 64 << 10

func runUserKeygen(_ context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "user keygen", "--out FILE", `
Make an Ed25519 signing key pair for a commissioner, on the
commissioner's own machine: the private key goes to FILE (PKCS #8 PEM,
mode 0600, never overwritten) and stays there; the public key is printed
on stdout (base64), with its key id on stderr. Give the public key to an
admin, who registers it with 'acd user key add NAME --pubkey KEY'.

Keep FILE secret: whoever holds it can sign approvals in your name until
the key is revoked (acd user key revoke). The server never sees it.

Example:
  acd user keygen --out ~/.acd/signing.key`)
	out := fs.String("out", "", "the private key `file` to create")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: keygen takes no argument (give --out FILE)", errUsage)
	}
	if *out == "" {
		return fmt.Errorf("%w: --out FILE is required", errUsage)
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("unable to generate a key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return fmt.Errorf("unable to encode the key: %w", err)
	}
	if err := writeNewFile(*out, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, base64.StdEncoding.EncodeToString(pub))
	fmt.Fprintf(e.stderr, "private key written to %s (keep it secret); public key above, key id %s\nregister it: acd user key add NAME --pubkey %s\n",
		*out, store.KeyID(pub), base64.StdEncoding.EncodeToString(pub))
	return nil
}

// writeNewFile creates path (mode 0600; an existing file is an error)
// holding data.
func writeNewFile(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s exists already: keygen never overwrites a key (choose another --out)", path)
		}
		return fmt.Errorf("unable to create %s: %w", path, err)
	}
	_, err = f.Write(data)
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("unable to write %s: %w", path, err)
	}
	return nil
}

// readSigningKey reads a private key written by acd user keygen (for the
// commands that sign approvals).
func readSigningKey(path string) (ed25519.PrivateKey, error) {
	data, err := readKeyFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s: not a PEM \"PRIVATE KEY\" (made by acd user keygen)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: a %T, not an Ed25519 private key", path, k)
	}
	return priv, nil
}

func readKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("unable to read the key: %w", err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("unable to read %s: %w", path, err)
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("%s: over %d bytes: not a key file", path, maxKeyFile)
	}
	return data, nil
}

// parsePublicKey reads an Ed25519 public key given as base64 (of its 32
// bytes) or as a file holding base64 or a PEM "PUBLIC KEY".
func parsePublicKey(arg string) (ed25519.PublicKey, error) {
	if raw, err := base64.StdEncoding.DecodeString(arg); err == nil && len(raw) == ed25519.PublicKeySize {
		return ed25519.PublicKey(raw), nil
	}
	data, err := readKeyFile(arg)
	if err != nil {
		return nil, fmt.Errorf("--pubkey %q: neither the base64 of 32 bytes nor a readable file: %w", arg, err)
	}
	pub, err := store.ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("--pubkey %s: %w", arg, err)
	}
	return pub, nil
}

func runUserKey(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: expected key add, key list or key revoke", errUsage)
	}
	switch args[0] {
	case "add":
		return runUserKeyAdd(ctx, e, args[1:])
	case "list":
		return runUserKeyList(ctx, e, args[1:])
	case "revoke":
		return runUserKeyRevoke(ctx, e, args[1:])
	case "-h", "-help", "--help":
		return runUser(ctx, e, []string{"--help"})
	}
	return fmt.Errorf("%w: unknown subcommand \"key %s\" (key add, key list, key revoke)", errUsage, args[0])
}

func runUserKeyAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "user key add", "--pubkey FILE|BASE64 [-c FILE] NAME", `
Register an Ed25519 public key (as printed by acd user keygen, or a file
holding it or a PEM "PUBLIC KEY") as a signing key of the user NAME, who
must be a commissioner. Prints the key id. A key is registered once: a
revoked key cannot come back.

Example:
  acd user key add carol --pubkey 3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`)
	pubArg := fs.String("pubkey", "", "the public key: base64 or a `file`")
	cfgPath := fs.String("c", "", "configuration `file` (for store.path)")
	name, err := oneArg(fs, args, "NAME")
	if err != nil {
		return err
	}
	if *pubArg == "" {
		return fmt.Errorf("%w: --pubkey is required", errUsage)
	}
	pub, err := parsePublicKey(*pubArg)
	if err != nil {
		return err
	}
	return withStore(ctx, e, *cfgPath, func(db *store.DB) error {
		k, err := db.AddSigningKey(ctx, name, pub)
		if err != nil {
			return noUser(err, name)
		}
		fmt.Fprintln(e.stdout, k.KeyID)
		fmt.Fprintf(e.stderr, "signing key %s of user %q registered\n", k.KeyID, k.User)
		return nil
	})
}

func runUserKeyList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "user key list", "[--json] [-c FILE] [NAME]", `
List the signing keys of the user NAME, or of every user: user, key id,
added, revoked (UTC, to the minute) and, with --json, the public key.`)
	asJSON := fs.Bool("json", false, "print a JSON array")
	cfgPath := fs.String("c", "", "configuration `file` (for store.path)")
	names, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(names) > 1 {
		return fmt.Errorf("%w: expected at most one NAME", errUsage)
	}
	user := ""
	if len(names) == 1 {
		user = names[0]
	}
	return withStore(ctx, e, *cfgPath, func(db *store.DB) error {
		ks, err := db.SigningKeys(ctx, user)
		if err != nil {
			return noUser(err, user)
		}
		if *asJSON {
			return printJSON(e.stdout, nonNil(ks))
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "USER\tKEY ID\tADDED\tREVOKED")
		for _, k := range ks {
			revoked := "-"
			if k.RevokedAt != nil {
				revoked = tokenTime(*k.RevokedAt, "-")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.User, k.KeyID, tokenTime(k.Added, "-"), revoked)
		}
		return tw.Flush()
	})
}

func runUserKeyRevoke(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "user key revoke", "[-c FILE] NAME KEYID", `
Revoke the signing key KEYID of the user NAME for good: approvals it signs
from now on are refused. The key stays listed with its revocation time,
so that approvals signed before remain verifiable.

Example:
  acd user key revoke carol 9f86d081884c7d65`)
	cfgPath := fs.String("c", "", "configuration `file` (for store.path)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: expected NAME KEYID", errUsage)
	}
	if err := store.ValidKeyID(pos[1]); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return withStore(ctx, e, *cfgPath, func(db *store.DB) error {
		if err := db.RevokeSigningKey(ctx, pos[0], pos[1]); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("user %q has no signing key %s ('acd user key list %s' shows them)", pos[0], pos[1], pos[0])
			}
			return err
		}
		fmt.Fprintf(e.stdout, "signing key %s of user %q revoked\n", pos[1], pos[0])
		return nil
	})
}
