package check

import (
	"fmt"
	"strings"

	"github.com/rolebind/rbac"
	"github.com/rolebind/rbac/ids"
	"github.com/rolebind/rbac/perm"
)

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
	// role holds ROLE_BINDING_CREATE, as the checker's index has it, and
	// the change would remove it or take that permission away (only with
	// Options.ProtectLastAdmin). An early answer only: the store's own
	// last-administrator rule is what holds when two changes race (see
	// "The last administrator" in package store).
	LastAdministrator DenyReason = "last_administrator"
	// NoSpace: the project to restrict belongs to no space the checker
	// knows, so there is no space administrator who could restrict it.
	// An account administrator can; the library cannot tell who that is.
	NoSpace DenyReason = "no_space"
)

// Denied is the guard's refusal. It matches [rbac.ErrForbidden], so that
// [rbac.HTTPStatus] answers it with 403; see "Forbidden" in the package
// documentation for why this is a fourth category.
type Denied struct {
	// Op is the operation refused: "create", "change role" or "delete"
	// (a binding), "restrict" or "unrestrict" (a project).
	Op string
	// Reason says why.
	Reason DenyReason
	// Missing lists the permissions the actor lacks on the resource:
	// the required ones for MissingPermission, the ones the role would
	// grant beyond the actor's own for Escalation. Sorted.
	Missing []string
	// ActorID, ResourceType and ResourceID say who was refused where:
	// the resource on which the operation needs its permissions. That is
	// the binding's resource for the binding operations; for a project's
	// first restriction, the project's space (empty for NoSpace); for
	// the other restriction operations, the project.
	ActorID      string
	ResourceType rbac.ResourceType
	ResourceID   string
	// ProjectID is the project of a restriction operation; empty for the
	// binding operations.
	ProjectID string
}

func (d *Denied) Error() string {
	var b strings.Builder
	if d.ProjectID != "" {
		fmt.Fprintf(&b, "check: forbidden: %s project %s: ", d.Op, d.ProjectID)
	} else {
		fmt.Fprintf(&b, "check: forbidden: %s binding on %s %s: ", d.Op, d.ResourceType, d.ResourceID)
	}
	switch d.Reason {
	case MissingPermission:
		b.WriteString("actor lacks " + strings.Join(d.Missing, " and "))
		if d.ProjectID != "" {
			fmt.Fprintf(&b, " on %s %s", d.ResourceType, d.ResourceID)
		}
	case NoSpace:
		b.WriteString("the project belongs to no space, so only an account administrator can restrict it")
	case Escalation:
		b.WriteString("role grants permissions the actor does not hold: " + strings.Join(d.Missing, ", "))
	case LastAdministrator:
		b.WriteString("it is the last binding on the space holding " + perm.RoleBindingCreate)
	default:
		b.WriteString(string(d.Reason))
	}
	return b.String()
}

// Is makes a *Denied match [rbac.ErrForbidden].
func (d *Denied) Is(target error) bool { return target == rbac.ErrForbidden }

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
	if err = rbac.JoinInvalid(aerr, err); err != nil {
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
	if err = rbac.JoinInvalid(aerr, err, rerr); err != nil {
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
	if err = rbac.JoinInvalid(aerr, err); err != nil {
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

// CanRestrictProject reports whether actor may restrict the project, by
// the rules of the public API: restricting a project that is not
// restricted yet needs PROJECT_RESTRICT on the project's space, since the
// restriction cuts off that space's members and only the space's
// administrators may do that; restricting an already restricted project
// (which changes nothing) needs what unrestricting does, PROJECT_RESTRICT
// on the project, as [Checker.CanUnrestrictProject]. It returns nil when
// allowed and a [*Denied] when not: MissingPermission, or NoSpace for an
// unrestricted project that belongs to no space.
//
// Errors: ErrInvalid for a malformed actor ID (field "actor_id") or
// project ID (field "project_id").
func (c *Checker) CanRestrictProject(actorID, projectID string) error {
	return c.guardProject("restrict", actorID, projectID, func(ix *index, deny *Denied) error {
		pn, known := ix.resNum(deny.ProjectID)
		switch {
		case known && ix.resRecs[pn].restricted:
			return c.needRestrict(ix, deny, rbac.Project, deny.ProjectID)
		case !known || ix.resRecs[pn].space == none:
			deny.Reason, deny.ResourceType = NoSpace, rbac.Space
			return deny
		}
		return c.needRestrict(ix, deny, rbac.Space, ix.resRecs[ix.resRecs[pn].space].id)
	})
}

// CanUnrestrictProject reports whether actor may lift the restriction of
// the project: it needs PROJECT_RESTRICT on the project itself, counting
// a space binding that reaches in (one whose role holds PROJECT_RESTRICT,
// which a restriction does not cut off). It returns nil when allowed and
// a [*Denied] (MissingPermission) when not. It does not ask whether the
// project is restricted: the store answers that (not found), after the
// permission, as the public API orders its checks.
//
// Errors: ErrInvalid for a malformed actor ID (field "actor_id") or
// project ID (field "project_id").
func (c *Checker) CanUnrestrictProject(actorID, projectID string) error {
	return c.guardProject("unrestrict", actorID, projectID, func(ix *index, deny *Denied) error {
		return c.needRestrict(ix, deny, rbac.Project, deny.ProjectID)
	})
}

// guardProject checks the IDs of a restriction operation and has decide
// rule on it under the index's read lock, with a denial to fill in.
func (c *Checker) guardProject(op, actorID, projectID string, decide func(*index, *Denied) error) error {
	actorID, aerr := c.actor(actorID)
	projectID, perr := c.val.ID("project_id", ids.Project, projectID)
	if err := rbac.JoinInvalid(aerr, perr); err != nil {
		return err
	}
	ix := c.ix.Load()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return decide(ix, &Denied{Op: op, ActorID: actorID, ProjectID: projectID})
}

// needRestrict returns nil when the actor of deny holds PROJECT_RESTRICT
// on the resource, with inheritance, and deny, filled in, when not.
func (c *Checker) needRestrict(ix *index, deny *Denied, rt rbac.ResourceType, resourceID string) error {
	deny.ResourceType, deny.ResourceID = rt, resourceID
	if d := c.require(deny, ix.effectiveOf(deny.ActorID, resourceID, c.prBit), perm.ProjectRestrict); d != nil {
		return d
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
