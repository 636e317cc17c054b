package ids_test

import (
	"errors"
	"fmt"

	"github.com/rolebind/rbac/ids"
)

func ExampleDecode() {
	id, err := ids.Decode("Um9sZToxOlY0S2E=")
	fmt.Println(id.Type, id.Number, id.Key, err)
	fmt.Println(id.Text())
	// Output:
	// Role 1 V4Ka <nil>
	// Role:1:V4Ka
}

// Go's base64 decoder accepts other spellings of an ID than the canonical
// one; Decode refuses each, so that nobody hides behind a second spelling.
// The reason says which rule the input broke.
func ExampleDecode_nonCanonical() {
	for _, s := range []string{
		"VXNlcjoxOmxQZzJ=",   // the last character carries non-zero trailing bits
		"VXNlcjoxOmxQZzI",    // padding left out
		"VXNlcjox\nOmxQZzI=", // a line break, which the decoder would skip
	} {
		_, err := ids.Decode(s)
		var e *ids.Error
		if errors.As(err, &e) {
			fmt.Printf("%v: %s\n", errors.Is(err, ids.ErrMalformed), e.Reason)
		}
	}
	// Output:
	// true: non-zero trailing bits
	// true: missing padding
	// true: embedded line break
}

func ExampleEncode() {
	fmt.Println(ids.Encode("Space", "1", "uFN1"))
	fmt.Println(ids.Encode("Entity", "12345", ""))
	// Output:
	// U3BhY2U6MTp1Rk4x
	// RW50aXR5OjEyMzQ1
}

// A project's ID may be spelt with the type name Model (canonical) or
// Project; Canonical returns the Model spelling, so that the two name one
// project. An ID of another kind is refused as the wrong type.
func ExampleTable_Canonical() {
	t := ids.DefaultTable()
	alias := ids.Encode("Project", "1", "FvlL")
	id, err := t.Canonical(ids.Project, alias)
	fmt.Println(id, err)
	d, _ := ids.Decode(id)
	fmt.Println(d.Text())

	_, err = t.Canonical(ids.Project, ids.Encode("Space", "1", "uFN1"))
	var te *ids.TypeError
	if errors.As(err, &te) {
		fmt.Println(errors.Is(err, ids.ErrWrongType), te.Kind, te.Got, te.Want)
	}
	// Output:
	// TW9kZWw6MTpGdmxM <nil>
	// Model:1:FvlL
	// true project Space [Model Project]
}
