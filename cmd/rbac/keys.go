package main

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rolebind/rbac/httpapi"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/validate"
)

// keyPrefix starts every key that keys add makes, so that a key pasted
// where it should not be (a log, a repository) is recognisable for what
// it is, as GitHub's ghp_ tokens are.
const keyPrefix = "rbac_"

// keyEntry is one line of a keys file: the SHA-256 of an API key and the
// principal it authenticates. The key itself is never stored.
type keyEntry struct {
	sum [sha256.Size]byte
	p   httpapi.Principal
}

// parseKeys reads a keys file: one "sha256-hex user-id [admin]" a line,
// blank lines and lines starting with '#' ignored. A malformed line is an
// error naming it, so that a server never starts with fewer keys than its
// operator wrote.
func parseKeys(r io.Reader, name string) ([]keyEntry, error) {
	v := validate.Default()
	var out []keyEntry
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		bad := func(why string) error { return fmt.Errorf("%s:%d: %s", name, n, why) }
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 3 {
			return nil, bad(`want "sha256-hex user-id [admin]"`)
		}
		var e keyEntry
		sum, err := hex.DecodeString(f[0])
		if err != nil || len(sum) != sha256.Size {
			return nil, bad("the first field is not a SHA-256 in hex (64 hex digits)")
		}
		copy(e.sum[:], sum)
		if e.p.UserID, err = v.ID("user_id", ids.User, f[1]); err != nil {
			return nil, bad(fmt.Sprintf("user ID %q is not a User ID", f[1]))
		}
		if len(f) == 3 {
			if f[2] != "admin" {
				return nil, bad(fmt.Sprintf("third field %q: only \"admin\" may stand there", f[2]))
			}
			e.p.Admin = true
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return out, nil
}

// readKeys reads the keys file at path.
func readKeys(path string) ([]keyEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseKeys(f, path)
}

// keyAuth authenticates "Authorization: Bearer <key>" against the hashed
// keys of a keys file (see httpapi.BearerKeySums); of two lines with the
// same key, the later one counts.
func keyAuth(entries []keyEntry) httpapi.Authenticate {
	sums := make(map[[sha256.Size]byte]httpapi.Principal, len(entries))
	for _, e := range entries {
		sums[e.sum] = e.p
	}
	return httpapi.BearerKeySums(sums)
}

// newKey returns a new random API key: 32 bytes from crypto/rand, as
// unpadded base64url after keyPrefix.
func newKey() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand since Go 1.24)
	return keyPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// addKey makes a key for the user, appends its line to the keys file at
// path (created 0600: it says who is an administrator), and returns the
// key. The file is checked first, so that a line is never appended to a
// file the server would refuse.
func addKey(path, userID string, admin bool) (string, error) {
	userID, err := validate.Default().ID("user_id", ids.User, userID)
	if err != nil {
		return "", err
	}
	if _, err := readKeys(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return "", err
	}
	key := newKey()
	sum := sha256.Sum256([]byte(key))
	line := hex.EncodeToString(sum[:]) + " " + userID
	if admin {
		line += " admin"
	}
	if _, err := fmt.Fprintln(f, line); err != nil {
		f.Close()
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return key, nil
}

// newKeysCmd is "rbac keys": the API keys of rbac serve.
func newKeysCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Manage the API keys of rbac serve",
		Long: `The keys file of rbac serve holds one line per API key:

  sha256-hex user-id [admin]

the SHA-256 of the key in hex, the user's global ID (type User), and
"admin" for an account administrator. Blank lines and lines starting with
# are ignored. The keys themselves are never stored.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return usagef("keys: missing command; see 'rbac keys --help'") },
	}
	var path, user string
	var admin bool
	add := &cobra.Command{
		Use:   "add --keys FILE --user-id USER_ID [--admin]",
		Short: "Make a new API key for a user and print it once",
		Long: `Make a new random API key for the user, append its SHA-256 to the keys
file (created with mode 0600), and print the key on stdout. It is printed
once and stored nowhere: keep it. A running rbac serve reads the file when
it starts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if path == "" {
				return usagef("keys add: --keys is required")
			}
			if user == "" {
				return usagef("keys add: --user-id is required")
			}
			key, err := addKey(path, user, admin)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, key)
			return nil
		},
	}
	add.Flags().StringVar(&path, "keys", "", "the keys file")
	add.Flags().StringVar(&user, "user-id", "", "the user the key authenticates (a User global ID)")
	add.Flags().BoolVar(&admin, "admin", false, "the user is an account administrator")
	cmd.AddCommand(add)
	return cmd
}
