package main

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/matryer/is"
)

func TestParseKeys(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	cases := []struct {
		name, file, err string
	}{
		{"comments and blank lines", "# keys\n\n" + sum + " " + testUser(1) + "\n" + sum + " " + testUser(2) + " admin\n", ""},
		{"a short hash", "# keys\n" + "abcd " + testUser(1) + "\n", "keys:2: the first field is not a SHA-256"},
		{"no user", sum + "\n", "keys:1: want"},
		{"a user that is not a User ID", sum + " " + testSpace(1) + "\n", "keys:1: user ID"},
		{"a third field other than admin", sum + " " + testUser(1) + " root\n", `keys:1: third field "root"`},
		{"four fields", "\n\n" + sum + " " + testUser(1) + " admin x\n", "keys:3: want"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			is := is.New(t)
			entries, err := parseKeys(strings.NewReader(tc.file), "keys")
			if tc.err == "" {
				is.NoErr(err)
				is.Equal(len(entries), 2)
				is.True(!entries[0].p.Admin)
				is.True(entries[1].p.Admin)
				return
			}
			is.True(err != nil)
			if !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %q does not say %q", err, tc.err)
			}
		})
	}
}

func TestKeysAdd(t *testing.T) {
	is := is.New(t)
	path := filepath.Join(t.TempDir(), "keys")
	res := rbacPipe(t, nil, "keys", "add", "--keys", path, "--user-id", testUser(1), "--admin")
	is.Equal(res.code, 0) // keys add
	key := strings.TrimSpace(res.stdout)
	is.True(strings.HasPrefix(key, keyPrefix))
	res = rbacPipe(t, nil, "keys", "add", "--keys", path, "--user-id", testUser(2))
	is.Equal(res.code, 0) // second key
	key2 := strings.TrimSpace(res.stdout)
	is.True(key != key2)

	fi, err := os.Stat(path)
	is.NoErr(err)
	is.Equal(fi.Mode().Perm(), os.FileMode(0o600)) // only the owner reads who is an administrator
	data, err := os.ReadFile(path)
	is.NoErr(err)
	is.True(!strings.Contains(string(data), key)) // the key itself is never stored
	sum := sha256.Sum256([]byte(key))
	is.True(strings.HasPrefix(string(data), hex.EncodeToString(sum[:])+" "+testUser(1)+" admin\n"))

	entries, err := readKeys(path)
	is.NoErr(err)
	auth := keyAuth(entries)
	for _, tc := range []struct {
		header string
		user   string
		admin  bool
		ok     bool
	}{
		{"Bearer " + key, testUser(1), true, true},
		{"bearer " + key2, testUser(2), false, true},
		{"Bearer " + key + "x", "", false, false},
		{"Bearer ", "", false, false},
		{"Basic " + key, "", false, false},
		{"", "", false, false},
	} {
		r := httptest.NewRequest("GET", "/v2/roles", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		p, err := auth(r)
		is.Equal(err == nil, tc.ok) // authenticated
		is.Equal(p.UserID, tc.user)
		is.Equal(p.Admin, tc.admin)
		if err != nil {
			is.True(!strings.Contains(err.Error(), key)) // never says the key
		}
	}

	t.Run("a bad user ID is refused and nothing is appended", func(t *testing.T) {
		is := is.New(t)
		res := rbacPipe(t, nil, "keys", "add", "--keys", path, "--user-id", "nope")
		is.Equal(res.code, 2)
		after, err := os.ReadFile(path)
		is.NoErr(err)
		is.Equal(string(after), string(data))
	})
	t.Run("a malformed file is named, not appended to", func(t *testing.T) {
		is := is.New(t)
		bad := filepath.Join(t.TempDir(), "bad")
		is.NoErr(os.WriteFile(bad, []byte("# ok\nnot a line\n"), 0o600))
		res := rbacPipe(t, nil, "keys", "add", "--keys", bad, "--user-id", testUser(3))
		is.Equal(res.code, 1)
		is.True(strings.Contains(res.stderr, bad+":2:"))
	})
}
