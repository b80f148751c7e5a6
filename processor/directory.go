package processor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
)

// Directory is what the processor asks WeCom about the company's people
// (wecom.Client).
type Directory interface {
	GetUser(ctx context.Context, userID string) (*wecom.User, error)
	ListDepartments(ctx context.Context, id int) ([]wecom.Department, error)
	ListUserIDs(ctx context.Context, cursor string, limit int) ([]wecom.DeptUser, string, error)
	PermitUsers(ctx context.Context, typ int) ([]string, error)
	CheckSingleAgree(ctx context.Context, q []wecom.AgreeQuery) ([]wecom.AgreeInfo, error)
	GetExternalContact(ctx context.Context, externalUserID, cursor string) (*wecom.ExternalContactDetail, error)
}

// cacheTTL is how long the department tree and the archive permit list
// are trusted before they are fetched again. Reconciliation (the cron)
// catches what a stale copy misses.
const cacheTTL = 10 * time.Minute

// directory wraps Directory with the caches the processor needs: the
// department tree (to expand an audience's departments to their
// sub-departments) and the archive permit list.
type directory struct {
	api Directory
	now func() time.Time

	mu        sync.Mutex
	depts     []wecom.Department // department/list, whole tree
	parents   map[int64]int64    // department → parent, from depts
	treeOK    bool               // depts and parents hold a fetched copy
	treeAt    time.Time
	permit    map[string]bool
	permitOK  bool // the permit list could be read (archive secret configured)
	permitAt  time.Time
	permitErr error
}

// path returns each department with all its ancestors.
func (d *directory) path(ctx context.Context, depts []int64) []int64 {
	parents := d.tree(ctx)
	var out []int64
	for _, dep := range depts {
		for cur, n := dep, 0; cur != 0 && n < 64; n++ {
			out = append(out, cur)
			cur = parents[cur]
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// tree returns the department → parent map, fetching the departments
// when stale. A failure keeps the last copy (or none: an audience then
// matches a department only directly).
func (d *directory) tree(ctx context.Context) map[int64]int64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refreshTree(ctx)
	return d.parents
}

// departments returns the company's departments (department/list from
// the root), fetching them when stale. On a failure it returns the last
// copy (nil if none) with the error; without an API, nothing.
func (d *directory) departments(ctx context.Context) ([]wecom.Department, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	err := d.refreshTree(ctx)
	return d.depts, err
}

// refreshTree fetches the departments when there is no copy or it is
// older than cacheTTL, with d.mu held. A failure keeps the last copy and
// is not retried before cacheTTL (do not hammer a failing API) unless
// there is no copy at all.
func (d *directory) refreshTree(ctx context.Context) error {
	if d.api == nil || (d.treeOK && d.now().Sub(d.treeAt) < cacheTTL) {
		return nil
	}
	depts, err := d.api.ListDepartments(ctx, 0)
	if err != nil {
		d.treeAt = d.now()
		return err
	}
	parents := make(map[int64]int64, len(depts))
	for _, dep := range depts {
		parents[int64(dep.ID)] = int64(dep.ParentID)
	}
	d.depts, d.parents, d.treeOK, d.treeAt = depts, parents, true, d.now()
	return nil
}

// inPermitList reports whether userID's chats are archived, and whether
// the permit list could be read at all.
func (d *directory) inPermitList(ctx context.Context, userID string) (in, known bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.api != nil && (d.permit == nil || d.now().Sub(d.permitAt) >= cacheTTL) {
		ids, err := d.api.PermitUsers(ctx, 0)
		d.permitAt = d.now()
		if err == nil {
			d.setPermitLocked(ids)
		} else if errors.Is(err, wecom.ErrNoSecret) {
			d.permitOK = false
		}
	}
	return d.permit[userID], d.permitOK
}

// setPermit replaces the cached permit list with ids, read just now.
func (d *directory) setPermit(ids []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.setPermitLocked(ids)
}

// setPermitLocked is setPermit with d.mu held. The cache is keyed by the
// UserIDs exactly as msgaudit/get_permit_user_list returns them and is
// looked up with the UserID as the caller has it (from a callback,
// user/get or user/list_id, which spell it the same way): WeCom treats
// UserIDs as case-insensitive in some APIs only, so no case is folded
// here. (reconcileMembers folds case for its own comparison with the
// stored people.)
func (d *directory) setPermitLocked(ids []string) {
	d.permit = make(map[string]bool, len(ids))
	for _, id := range ids {
		d.permit[id] = true
	}
	d.permitOK, d.permitAt = true, d.now()
}

// person builds what policy knows of a member from WeCom's user/get,
// starting from what we knew (prev, may be nil) so that facts WeCom does
// not return to us (tags) are kept.
func (d *directory) person(ctx context.Context, userID string, prev *policy.Person) (*policy.Person, error) {
	p := policy.Person{UserID: userID, Active: true}
	if prev != nil {
		p = *prev
		p.UserID = userID
	}
	if d.api != nil {
		u, err := d.api.GetUser(ctx, userID)
		switch {
		case err == nil:
			p.Name = u.Name
			p.Departments = ints64(u.Department)
			p.DirectLeaders = slices.Clone(u.DirectLeader)
			p.Active = u.Active()
		case errors.Is(err, wecom.ErrNoSecret):
		default:
			var apiErr *wecom.APIError
			if !errors.As(err, &apiErr) {
				return nil, fmt.Errorf("user/get %s: %w", userID, err) // transient: retry the event
			}
			// The member is gone or not visible to the app: keep what we know.
		}
	}
	if in, known := d.inPermitList(ctx, userID); known {
		p.InPermitList = in
	}
	p.DepartmentPath = d.path(ctx, p.Departments)
	return &p, nil
}

// applyChange updates p with the fields a change_contact event carried
// (each only when it changed).
func applyChange(p *policy.Person, e *wecom.UserChange) {
	if e.Name != nil {
		p.Name = *e.Name
	}
	if e.Department != nil {
		if ds, err := e.Departments(); err == nil {
			p.Departments = ints64(ds)
		}
	}
	if e.DirectLeader != nil {
		p.DirectLeaders = e.DirectLeaders()
	}
	if e.Status != nil {
		s, _ := strconv.Atoi(strings.TrimSpace(*e.Status))
		p.Active = wecom.User{Status: s}.Active()
	}
}

func ints64(xs []int) []int64 {
	out := make([]int64, len(xs))
	for i, x := range xs {
		out[i] = int64(x)
	}
	return out
}

// storedPerson returns the stored record of userID, or nil.
func storedPerson(ctx context.Context, st store.People, userID string) (*policy.Person, error) {
	p, err := st.GetPerson(ctx, userID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, nil
	case err != nil:
		return nil, err
	}
	return &p, nil
}

// customerName is a customer's name from WeCom, or "" if it cannot be
// had: it only makes texts friendlier, so no failure matters.
func (d *directory) customerName(ctx context.Context, externalUserID string) string {
	if d.api == nil {
		return ""
	}
	c, err := d.api.GetExternalContact(ctx, externalUserID, "")
	if err != nil {
		return ""
	}
	return c.ExternalContact.Name
}
