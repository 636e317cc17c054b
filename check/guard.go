package check

import (
	"fmt"
	"strings"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/perm"
)

// ErrForbidden is matched, under [errors.Is], by the error of the
// escalation guard when it refuses a change of access. The error itself is
// a [*Denied] that says why. It is [rbac.ErrForbidden] itself, so that
// [rbac.HTTPStatus] answers it with 403; see "Forbidden" in the package
// documentation for why this is a fourth category.
var ErrForbidden = rbac.ErrForbidden

// DenyReason says why the guard refused a change of access.
type DenyReason string

// The reasons the guard refuses.
const (
	// MissingPermission: the actor lacks a permission the public API
	// requires for the operation (ROLE_BINDING_CREATE to create;
	// ROLE_BINDING_CREATE and ROLE_BINDING_DELETE to change a role;
	// ROLE_BINDING_DELETE to delete).
	MissingPermission DenyReason = "missing_permission"
	// Escalation: the role to be granted holds permissions the actor does
	// not hold on the resource; nobody can hand out more than they have.
	Escalation DenyReason = "escalation"
	// LastAdministrator: the binding is the last one on its space whose
	// role holds ROLE_BINDING_CREATE, and the change would remove it or
	// take that permission away (only with Options.ProtectLastAdmin).
	LastAdministrator DenyReason = "last_administrator"
)

// Denied is the guard's refusal. It matches [ErrForbidden].
type Denied struct {
	// Op is the operation refused: "create", "change role" or "delete".
	Op string
	// Reason says why.
	Reason DenyReason
	// Missing lists the permissions the actor lacks on the resource:
	// the required ones for MissingPermission, the ones the role would
	// grant beyond the actor's own for Escalation. Sorted.
	Missing []string
	// ActorID, ResourceType and ResourceID say who was refused where.
	ActorID      string
	ResourceType rbac.ResourceType
	ResourceID   string
}

func (d *Denied) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "check: forbidden: %s binding on %s %s: ", d.Op, d.ResourceType, d.ResourceID)
	switch d.Reason {
	case MissingPermission:
		b.WriteString("actor lacks " + strings.Join(d.Missing, " and "))
	case Escalation:
		b.WriteString("role grants permissions the actor does not hold: " + strings.Join(d.Missing, ", "))
	case LastAdministrator:
		b.WriteString("it is the last binding on the space holding " + perm.RoleBindingCreate)
	default:
		b.WriteString(string(d.Reason))
	}
	return b.String()
}

// Is makes a *Denied match [ErrForbidden].
func (d *Denied) Is(target error) bool { return target == ErrForbidden }

// CanCreateBinding reports whether actor may create the binding nb: the
// actor must hold ROLE_BINDING_CREATE on nb's resource, and every
// permission of nb's role, counting inheritance from the space as a check
// does. It returns nil when allowed and a [*Denied] when not.
//
// Errors: ErrInvalid for a malformed actor ID (field "actor_id") or bad nb
// (the fields of validate.Validator.NewBinding); ErrNotFound when nb's
// role is not in the index.
func (c *Checker) CanCreateBinding(actorID string, nb rbac.NewBinding) error {
	nb, err := c.val.NewBinding(nb)
	actorID, aerr := c.actor(actorID)
	if err = joinInvalid(aerr, err); err != nil {
		return err
	}
	ix := c.ix.Load()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	role, err := ix.role(nb.RoleID)
	if err != nil {
		return err
	}
	have := ix.effectiveOf(actorID, nb.ResourceID, c.prBit)
	deny := &Denied{Op: "create", ActorID: actorID, ResourceType: nb.ResourceType, ResourceID: nb.ResourceID}
	if d := c.require(deny, have, perm.RoleBindingCreate); d != nil {
		return d
	}
	return c.noEscalation(deny, have, role.perms)
}

// CanChangeRole reports whether actor may change binding b to role
// newRoleID: the actor must hold ROLE_BINDING_CREATE and
// ROLE_BINDING_DELETE on b's resource and every permission of the new
// role; with last-administrator protection, b must not be the last binding
// on its space whose role holds ROLE_BINDING_CREATE while the new role
// lacks it. b is the binding as the host read it; its current role is
// taken from the index, which may be newer. It returns nil when allowed
// and a [*Denied] when not.
//
// Errors: ErrInvalid for a malformed actor ID (field "actor_id"), bad
// binding fields or new role ID (field "role_id"); ErrNotFound when the
// new role is not in the index.
func (c *Checker) CanChangeRole(actorID string, b rbac.Binding, newRoleID string) error {
	b, err := c.binding(b)
	newRoleID, rerr := c.val.RoleID(newRoleID)
	actorID, aerr := c.actor(actorID)
	if err = joinInvalid(aerr, err, rerr); err != nil {
		return err
	}
	ix := c.ix.Load()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	role, err := ix.role(newRoleID)
	if err != nil {
		return err
	}
	have := ix.effectiveOf(actorID, b.ResourceID, c.prBit)
	deny := &Denied{Op: "change role", ActorID: actorID, ResourceType: b.ResourceType, ResourceID: b.ResourceID}
	if d := c.require(deny, have, perm.RoleBindingCreate, perm.RoleBindingDelete); d != nil {
		return d
	}
	if err := c.noEscalation(deny, have, role.perms); err != nil {
		return err
	}
	if c.rbcBit >= 0 && !role.perms.has(c.rbcBit) && c.lastAdmin(ix, b) {
		deny.Reason = LastAdministrator
		return deny
	}
	return nil
}

// CanDeleteBinding reports whether actor may delete binding b: the actor
// must hold ROLE_BINDING_DELETE on b's resource; with last-administrator
// protection, b must not be the last binding on its space whose role holds
// ROLE_BINDING_CREATE. It returns nil when allowed and a [*Denied] when
// not.
//
// Errors: ErrInvalid for a malformed actor ID (field "actor_id") or bad
// binding fields.
func (c *Checker) CanDeleteBinding(actorID string, b rbac.Binding) error {
	b, err := c.binding(b)
	actorID, aerr := c.actor(actorID)
	if err = joinInvalid(aerr, err); err != nil {
		return err
	}
	ix := c.ix.Load()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	have := ix.effectiveOf(actorID, b.ResourceID, c.prBit)
	deny := &Denied{Op: "delete", ActorID: actorID, ResourceType: b.ResourceType, ResourceID: b.ResourceID}
	if d := c.require(deny, have, perm.RoleBindingDelete); d != nil {
		return d
	}
	if c.lastAdmin(ix, b) {
		deny.Reason = LastAdministrator
		return deny
	}
	return nil
}

// require returns deny, filled in, when have lacks any of perms; a
// permission missing from the vocabulary is never held.
func (c *Checker) require(deny *Denied, have permSet, perms ...string) *Denied {
	for _, p := range perms {
		if b, ok := c.vocab.Index(p); !ok || !have.has(b) {
			deny.Missing = append(deny.Missing, p)
		}
	}
	if len(deny.Missing) == 0 {
		return nil
	}
	deny.Reason = MissingPermission
	return deny
}

func (c *Checker) noEscalation(deny *Denied, have, grant permSet) error {
	extra := grant.minus(have)
	if extra.empty() {
		return nil
	}
	deny.Reason, deny.Missing = Escalation, namesOf(c.vocab, extra)
	return deny
}

// lastAdmin reports whether, with protection on, b is the last binding on
// its space whose role holds ROLE_BINDING_CREATE. It reads the binding's
// current role from the index; a binding the index does not have (already
// deleted) protects nothing.
func (c *Checker) lastAdmin(ix *index, b rbac.Binding) bool {
	if !c.protectLastAdmin || c.rbcBit < 0 || b.ResourceType != rbac.Space {
		return false
	}
	rn, ok := ix.resNum(b.ResourceID)
	if !ok {
		return false
	}
	admins, self := 0, false
	for _, un := range ix.resRecs[rn].users {
		u := &ix.userRecs[un]
		g := &u.grants[u.grantOn(rn)]
		if ix.roleRecs[g.role].perms.has(c.rbcBit) {
			admins++
			self = self || u.id == b.UserID
		}
	}
	return self && admins == 1
}

// role returns the record of an existing role, or ErrNotFound.
func (ix *index) role(id string) (*roleRec, error) {
	if n, ok := ix.roles[id]; ok && ix.roleRecs[n].exists {
		return &ix.roleRecs[n], nil
	}
	return nil, fmt.Errorf("check: role %s: %w", id, rbac.ErrNotFound)
}

// effectiveOf is effective for IDs; unknown IDs hold nothing.
func (ix *index) effectiveOf(userID, resourceID string, prBit int) permSet {
	un, uok := ix.userNum(userID)
	rn, rok := ix.resNum(resourceID)
	if !uok || !rok {
		return permSet{}
	}
	return ix.effective(un, rn, prBit)
}

func (c *Checker) actor(id string) (string, error) {
	if id == "" {
		return "", rbac.Invalid("actor_id", rbac.ReasonRequired, "is required")
	}
	u, err := c.val.UserID(id)
	if err != nil {
		return "", rbac.Invalid("actor_id", rbac.ReasonInvalid, fieldErrors(err)[0].Message)
	}
	return u, nil
}

// binding checks the fields of a binding the host passes to the guard.
func (c *Checker) binding(b rbac.Binding) (rbac.Binding, error) {
	var errs rbac.FieldErrors
	var err error
	if b.ID, err = c.val.BindingID(b.ID); err != nil {
		errs = append(errs, fieldErrors(err)...)
	}
	nb, err := c.val.NewBinding(rbac.NewBinding{RoleID: b.RoleID, UserID: b.UserID, ResourceType: b.ResourceType, ResourceID: b.ResourceID})
	if err != nil {
		errs = append(errs, fieldErrors(err)...)
	}
	b.RoleID, b.UserID, b.ResourceType, b.ResourceID = nb.RoleID, nb.UserID, nb.ResourceType, nb.ResourceID
	return b, errs.Err()
}

// joinInvalid merges validation errors into one, reporting every field.
func joinInvalid(errs ...error) error {
	var all rbac.FieldErrors
	for _, err := range errs {
		if err != nil {
			all = append(all, fieldErrors(err)...)
		}
	}
	return all.Err()
}
