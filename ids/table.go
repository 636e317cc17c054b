package ids

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/google/uuid"
)

// Kind is what an ID names, independent of the type names a host spells it
// with.
type Kind uint8

// The kinds of ID the library deals with.
const (
	Role Kind = iota + 1
	User
	Space
	Project
	RoleBinding
)

func (k Kind) String() string {
	switch k {
	case Role:
		return "role"
	case User:
		return "user"
	case Space:
		return "space"
	case Project:
		return "project"
	case RoleBinding:
		return "role binding"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// ErrWrongType is matched, under [errors.Is], by the error for a
// well-formed ID whose type name is not accepted for the kind asked for,
// such as a Space ID where a project belongs.
var ErrWrongType = errors.New("ids: wrong id type")

// TypeError says that an ID has the wrong type.
type TypeError struct {
	Kind Kind
	Got  string
	Want []string
}

func (e *TypeError) Error() string {
	return fmt.Sprintf("ids: %s id has type %q, want %s", e.Kind, e.Got, strings.Join(e.Want, " or "))
}

// Is makes every *TypeError match [ErrWrongType].
func (e *TypeError) Is(target error) bool { return target == ErrWrongType }

// Table lists the type names accepted for each kind of ID. The first name
// of each list is the canonical one: an ID spelled with another name of the
// list is accepted and rewritten to the canonical name, so that two
// spellings of one resource compare equal byte for byte.
//
// A host whose IDs use other type names supplies its own Table.
type Table struct {
	Role        []string
	User        []string
	Space       []string
	Project     []string
	RoleBinding []string
}

// DefaultTable returns the type names of the Arize AX API: projects are
// Model, with Project accepted as an alias.
func DefaultTable() Table {
	return Table{
		Role:        []string{"Role"},
		User:        []string{"User"},
		Space:       []string{"Space"},
		Project:     []string{"Model", "Project"},
		RoleBinding: []string{"RoleBinding"},
	}
}

// Names returns the accepted type names of kind k, canonical first.
func (t *Table) Names(k Kind) []string {
	switch k {
	case Role:
		return t.Role
	case User:
		return t.User
	case Space:
		return t.Space
	case Project:
		return t.Project
	case RoleBinding:
		return t.RoleBinding
	}
	return nil
}

// Check reports whether the table is usable: every kind has at least one
// name, every name is a valid type name, and no name serves two kinds
// (which would let a user ID pass for a space ID).
func (t *Table) Check() error {
	seen := map[string]Kind{}
	for k := Role; k <= RoleBinding; k++ {
		names := t.Names(k)
		if len(names) == 0 {
			return fmt.Errorf("ids: table has no type name for %s ids", k)
		}
		for _, n := range names {
			if r := checkType([]byte(n)); r != "" {
				return fmt.Errorf("ids: table: type name %q: %s", n, r)
			}
			if other, dup := seen[n]; dup {
				return fmt.Errorf("ids: table: type name %q serves both %s and %s ids", n, other, k)
			}
			seen[n] = k
		}
	}
	return nil
}

// Canonical checks that s is a canonical global ID of kind k and returns it
// in canonical form: s itself when its type name is the canonical one, the
// same ID re-encoded with the canonical type name when it uses an alias. A
// malformed s gives an [*Error]; a well-formed s of another kind gives a
// [*TypeError]. The common case allocates nothing.
func (t *Table) Canonical(k Kind, s string) (string, error) {
	var buf [maxText]byte
	typ, num, key, reason := parse(s, &buf)
	if reason != "" {
		return "", &Error{Reason: reason}
	}
	names := t.Names(k)
	for i, n := range names {
		if string(typ) != n {
			continue
		}
		if i == 0 {
			return s, nil
		}
		end := len(typ) + 1 + len(num)
		if len(key) > 0 {
			end += 1 + len(key)
		}
		text := append([]byte(names[0]), buf[len(typ):end]...)
		return base64.StdEncoding.EncodeToString(text), nil
	}
	return "", &TypeError{Kind: k, Got: string(typ), Want: names}
}

// NewID returns a new ID of kind k with the canonical type name. Its number
// is a version 7 UUID read as a 128-bit integer: 74 random bits beside a
// millisecond clock, so processes that share one database mint IDs without
// talking to each other and never repeat one, and IDs sort roughly by
// creation time, which keeps B-tree inserts at the right edge.
func (t *Table) NewID(k Kind) (string, error) {
	u, err := uuid.NewV7()
	if err != nil {
		return "", fmt.Errorf("ids: new %s id: %w", k, err)
	}
	n := new(big.Int).SetBytes(u[:])
	return ID{Type: t.Names(k)[0], Number: n.String()}.String(), nil
}
