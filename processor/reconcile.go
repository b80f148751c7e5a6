package processor

// Reconciliation, the daily "reconcile" cron job. WeCom's callbacks can
// be lost (a change_contact event that never came, a permit-list change
// that has no callback at all), so once a day the processor lists the
// members and the archive permit list from WeCom, compares them with the
// people it knows (store.People), and feeds each difference into policy
// as a synthetic event through the normal path: the queue, a worker,
// policy.Decide and the audited apply. It then re-checks the consents
// customers have not answered yet with check_single_agree.

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
)

// ReconcileReceiver is the Receiver of every event reconciliation
// enqueues, and the first part of their dedup keys
// ("reconcile:<day>:<kind>:<userid>…"), which become the origin of their
// audit entries: the event log and the audit log both say the entry came
// from reconciliation, not from a WeCom callback.
const ReconcileReceiver = "reconcile"

// KindReconcilePerson applies a change of a known member's facts that no
// callback reported (departments, permit-list membership, status,
// leaders) as policy.PeopleChanged.
const KindReconcilePerson = store.JobPrefix + "policy.reconcile_person"

// check_single_agree limits (path/91782): "单聊请求调用频率不可超过2500次/分钟"
// and "目前一次请求只支持最多100个查询条目" (more is refused with 301060).
// https://developer.work.weixin.qq.com/document/path/91782
const (
	checkSingleAgreePerMinute = 2500
	checkSingleAgreeBatch     = 100
)

// consentPace is the interval between two check_single_agree calls of a
// reconcile run: the documented per-minute limit, less a fifth left for
// the event-driven checks (KindConsentCheck) that run meanwhile. 30 ms,
// so that 100,000 pending consents take 1,000 calls and 30 s.
const consentPace = time.Minute / (checkSingleAgreePerMinute * 4 / 5)

// frequencyBlock is how long WeCom blocks an API after a minute-level
// limit was hit (45009): "按分钟拦截则被屏蔽60秒" (path/90312).
// https://developer.work.weixin.qq.com/document/path/90312
const frequencyBlock = time.Minute

// Reconcile is the "reconcile" cron job (jobs.Func): it compares WeCom's
// members (user/list_id; without the contacts secret, a walk of the
// app's visible departments with user/list) and archive permit list
// (msgaudit/get_permit_user_list) with the people the store knows and
// enqueues a synthetic event for each difference — change_contact
// create_user for a member no callback announced, delete_user for a
// person WeCom no longer has, a KindReconcilePerson job for changed
// departments, permit-list membership, status or leaders — which the
// workers decide and apply exactly as the real callbacks. Then it
// re-checks every consent still unanswered with check_single_agree, 100
// pairs a call, paced below the documented limit, and records the
// answers through policy.
//
// It is idempotent for a given now: every enqueued event's dedup key
// names now's day (in Settings.Location), so a run made again enqueues
// nothing twice, and a consent checked at or after now is not checked
// again. Without the WeCom API (no client) it does nothing; an API it
// may not use (no secret, no permission) skips the part that needs it.
//
// counts: members (listed in WeCom), people (stored), create_user,
// delete_user, departments_changed, permit_changed, status_changed,
// leaders_changed, enqueued (new queue entries), delete_unconfirmed,
// consents_pending, consent_calls, consents_checked, consents_answered,
// consents_not_found; and as flags department_walk, no_baseline,
// members_unavailable, permit_unavailable, consents_unavailable.
func (p *Processor) Reconcile(ctx context.Context, now time.Time) (counts map[string]int, err error) {
	counts = map[string]int{}
	if p.dir.api == nil {
		return counts, nil
	}
	day := now.In(p.cfg.Settings.Location).Format(time.DateOnly)
	if err := p.reconcileMembers(ctx, now, day, counts); err != nil {
		return counts, err
	}
	if err := p.recheckConsents(ctx, now, day, counts); err != nil {
		return counts, err
	}
	return counts, nil
}

// sortedSet returns the distinct values of xs in order, in a new slice
// (nil when xs is empty), for comparing lists whose order and repeats do
// not matter.
func sortedSet[T cmp.Ordered](xs []T) []T {
	return slices.Compact(slices.Sorted(slices.Values(xs)))
}

// unavailable reports whether err says that an API cannot be used at all
// (no secret configured, no permission, the archive not enabled), as
// opposed to a failure worth retrying.
func unavailable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return wecom.Classify(err) == wecom.ActionPermanent
}

// reconcileMembers compares WeCom's members with the stored people and
// enqueues the differences.
func (p *Processor) reconcileMembers(ctx context.Context, now time.Time, day string, counts map[string]int) error {
	l, err := p.listMembers(ctx)
	if err != nil {
		if unavailable(err) {
			p.log.Warn("reconcile: cannot list members through WeCom (user/list_id needs the contacts secret; user/list the app's); members not reconciled", "err", err)
			counts["members_unavailable"] = 1
			return nil
		}
		return fmt.Errorf("reconcile: list members: %w", err)
	}
	if l.users != nil {
		counts["department_walk"] = 1
	}
	permit, permitKnown, err := p.freshPermitList(ctx)
	if err != nil {
		return fmt.Errorf("reconcile: permit list: %w", err)
	}
	if !permitKnown {
		counts["permit_unavailable"] = 1
	}
	stored, err := p.allPeople(ctx)
	if err != nil {
		return fmt.Errorf("reconcile: list people: %w", err)
	}
	counts["members"], counts["people"] = len(l.depts), len(stored)
	if len(stored) == 0 || (len(p.cfg.Notices) > 0 && l.users == nil && len(stored) < len(l.depts)/2) {
		// A first start: publishing the notices records everyone
		// user/list_id lists, and it is still at it (or nothing is known
		// at all). Comparing now would take everyone not yet recorded
		// for a missed create_user: a flood of events deciding
		// "new_member" for what is the notices' first publication.
		p.log.Info("reconcile: the people are not recorded yet (a first start); members not compared",
			"members", len(l.depts), "people", len(stored))
		counts["no_baseline"] = 1
		return nil
	}

	byLower := make(map[string]policy.Person, len(stored))
	for _, s := range stored {
		byLower[strings.ToLower(s.UserID)] = s
	}
	seen := make(map[string]bool, len(l.depts))
	for _, id := range slices.Sorted(maps.Keys(l.depts)) {
		lower := strings.ToLower(id) // UserIDs are case-insensitive (path/90196)
		seen[lower] = true
		depts := sortedSet(l.depts[id])
		prev, known := byLower[lower]
		if !known {
			counts["create_user"]++
			if err := p.enqueueContactChange(ctx, day, "create_user", id, depts, counts); err != nil {
				return err
			}
			continue
		}
		j := reconcilePersonJob{UserID: prev.UserID}
		if !slices.Equal(depts, sortedSet(prev.Departments)) {
			j.Departments = depts
			counts["departments_changed"]++
		}
		if in := permit[lower]; permitKnown && in != prev.InPermitList {
			j.InPermitList = &in
			counts["permit_changed"]++
		}
		if u := l.users[id]; u != nil { // the walk read their status and leaders too
			if active := u.Active(); active != prev.Active {
				j.Active = &active
				counts["status_changed"]++
			}
			leaders := sortedSet(u.DirectLeader)
			if !slices.Equal(leaders, sortedSet(prev.DirectLeaders)) {
				if leaders == nil {
					leaders = []string{}
				}
				j.DirectLeaders = &leaders
				counts["leaders_changed"]++
			}
		}
		if j.changes() {
			if err := p.enqueuePersonChange(ctx, now, day, j, counts); err != nil {
				return err
			}
		}
	}
	if len(l.depts) == 0 {
		// WeCom listing nobody is an answer to distrust, not a company
		// that fired everyone.
		p.log.Warn("reconcile: WeCom lists no member; no one is taken for deleted", "people", len(stored))
		return nil
	}
	confirmPace := &pacer{now: p.cfg.Now, sleep: p.cfg.Sleep, every: walkPace}
	for _, s := range stored {
		if seen[strings.ToLower(s.UserID)] {
			continue
		}
		if l.users != nil {
			if err := confirmPace.wait(ctx); err != nil {
				return err
			}
			// The walk sees the app's visible range only: someone outside
			// it is not gone. Take them for deleted only when WeCom says
			// the UserID does not exist (60111) or that they left.
			gone, err := p.confirmGone(ctx, s.UserID)
			if err != nil {
				return fmt.Errorf("reconcile: user/get %s: %w", s.UserID, err)
			}
			if !gone {
				counts["delete_unconfirmed"]++
				continue
			}
		}
		counts["delete_user"]++
		if err := p.enqueueContactChange(ctx, day, "delete_user", s.UserID, nil, counts); err != nil {
			return err
		}
	}
	return nil
}

// basicPerMinute is WeCom's basic frequency limit of a single API per
// corp: "每企业调用单个cgi/api不可超过1万次/分，15万次/小时" (path/90312).
// user/list_id documents no limit of its own (path/96067), so this one
// applies; at 10,000 rows a page it takes a call per 10,000 (member,
// department) rows and needs no pacing. The walk makes a call per
// department, and one per unconfirmed deletion.
// https://developer.work.weixin.qq.com/document/path/90312
const basicPerMinute = 10000

// walkPace spaces the department walk's user/list calls and its user/get
// confirmations: a fifth of the basic limit (12 ms), leaving the rest to
// everything else.
const walkPace = time.Minute / (basicPerMinute / 5)

// departmentWalker is what the department walk needs beyond Directory
// (wecom.Client has it).
type departmentWalker interface {
	ListDepartmentUsers(ctx context.Context, departmentID int) ([]wecom.User, error)
}

// listing is WeCom's members as reconciliation sees them.
type listing struct {
	// depts are every member's departments, by UserID.
	depts map[string][]int64
	// users are the members' details when the department walk listed
	// them (user/list); nil when user/list_id did.
	users map[string]*wecom.User
}

// listMembers lists the members with user/list_id (the whole company,
// with the contacts secret) or, where that cannot be used, by walking the
// department tree with user/list (the app's visible range).
func (p *Processor) listMembers(ctx context.Context) (listing, error) {
	depts, err := p.memberDepartments(ctx)
	if err == nil {
		return listing{depts: depts}, nil
	}
	w, ok := p.dir.api.(departmentWalker)
	if !ok || !unavailable(err) {
		return listing{}, err
	}
	l, werr := p.walkDepartments(ctx, w)
	if werr != nil {
		if unavailable(werr) {
			return listing{}, fmt.Errorf("%w; department walk: %w", err, werr)
		}
		return listing{}, werr
	}
	return l, nil
}

// walkDepartments lists the members of every department the app sees
// (department/list, then user/list for each), paced.
func (p *Processor) walkDepartments(ctx context.Context, w departmentWalker) (listing, error) {
	ds, err := p.dir.departments(ctx)
	if err != nil {
		return listing{}, err
	}
	l := listing{depts: map[string][]int64{}, users: map[string]*wecom.User{}}
	pace := &pacer{now: p.cfg.Now, sleep: p.cfg.Sleep, every: walkPace}
	for _, d := range ds {
		if err := pace.wait(ctx); err != nil {
			return listing{}, err
		}
		users, err := w.ListDepartmentUsers(ctx, d.ID)
		if err != nil {
			return listing{}, fmt.Errorf("department %d: %w", d.ID, err)
		}
		for i := range users {
			u := &users[i]
			if _, ok := l.users[u.UserID]; ok || u.Status == wecom.UserLeft {
				continue
			}
			l.users[u.UserID] = u
			l.depts[u.UserID] = ints64(u.Department)
		}
	}
	return l, nil
}

// confirmGone reports whether WeCom says userID does not exist (60111)
// or has left; any other answer keeps them.
func (p *Processor) confirmGone(ctx context.Context, userID string) (bool, error) {
	u, err := p.dir.api.GetUser(ctx, userID)
	var apiErr *wecom.APIError
	switch {
	case err == nil:
		return u.Status == wecom.UserLeft, nil
	case errors.As(err, &apiErr) && apiErr.Code == wecom.CodeUserIDNotFound:
		return true, nil
	case unavailable(err):
		return false, nil
	}
	return false, err
}

// freshPermitList reads the archive permit list and refreshes the
// directory's cache with it (keyed as WeCom spells the UserIDs, see
// setPermit); the map it returns is keyed by lower-cased UserID, as
// reconcileMembers compares everything; known is false when the archive
// API cannot be used.
func (p *Processor) freshPermitList(ctx context.Context) (permit map[string]bool, known bool, err error) {
	ids, err := p.dir.api.PermitUsers(ctx, 0)
	if err != nil {
		if unavailable(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	permit = make(map[string]bool, len(ids))
	for _, id := range ids {
		permit[strings.ToLower(id)] = true
	}
	p.dir.setPermit(ids)
	return permit, true, nil
}

// allPeople lists every stored person.
func (p *Processor) allPeople(ctx context.Context) ([]policy.Person, error) {
	return store.Collect(ctx, pageSize, p.st.ListPeople)
}

// reconcileKey is the dedup key of a synthetic event of one run's day.
func reconcileKey(day, kind, userID string) string {
	return ReconcileReceiver + ":" + day + ":" + kind + ":" + userID
}

// enqueueContactChange enqueues a change_contact event (create_user or
// delete_user) as WeCom would have sent it, the way the contact-sync
// callback does since 2022-08-15: UserID and, for create_user,
// Department only (path/90970); the worker reads the rest with user/get.
//
// The event is stamped with the clock's time, when the difference was
// found, not with the run's scheduled time: a run that catches up a
// missed activation at start-up would otherwise date what it decides
// (an obligation's created_at, its due date) hours in the past. day,
// from the scheduled time, keeps one event per difference and run day.
func (p *Processor) enqueueContactChange(ctx context.Context, day, change, userID string, depts []int64, counts map[string]int) error {
	now := p.cfg.Now()
	payload, err := contactChangeXML(change, userID, depts, now)
	if err != nil {
		return err
	}
	return p.enqueueReconcile(ctx, store.Event{DedupKey: reconcileKey(day, change, userID), Kind: "change_contact." + change,
		Receiver: ReconcileReceiver, ReceivedAt: now.UTC(), Payload: payload}, counts)
}

// enqueuePersonChange enqueues j. Its key carries a digest of the change,
// so that a change reverted and made again within a day is seen each
// time, while the same change found again is not.
func (p *Processor) enqueuePersonChange(ctx context.Context, now time.Time, day string, j reconcilePersonJob, counts map[string]int) error {
	payload := mustJSON(j)
	sum := sha256.Sum256(payload)
	return p.enqueueReconcile(ctx, store.Event{DedupKey: reconcileKey(day, "people_changed", j.UserID) + ":" + hex.EncodeToString(sum[:6]),
		Kind: KindReconcilePerson, Receiver: ReconcileReceiver, ReceivedAt: now.UTC(), Payload: payload}, counts)
}

func (p *Processor) enqueueReconcile(ctx context.Context, e store.Event, counts map[string]int) error {
	added, err := p.st.Enqueue(ctx, e)
	if err != nil {
		return fmt.Errorf("reconcile: enqueue %s: %w", e.DedupKey, err)
	}
	if added {
		counts["enqueued"]++
	}
	return nil
}

// changeContact is a change_contact event's plaintext (path/90970).
type changeContact struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   string   `xml:"ToUserName"`
	FromUserName string   `xml:"FromUserName"`
	CreateTime   int64    `xml:"CreateTime"`
	MsgType      string   `xml:"MsgType"`
	Event        string   `xml:"Event"`
	ChangeType   string   `xml:"ChangeType"`
	UserID       string   `xml:"UserID"`
	Department   string   `xml:"Department,omitempty"`
}

// contactChangeXML is the plaintext of a change_contact event about
// userID, dated at. ToUserName (the CorpID) is left empty: no one reads
// it from a queued event.
func contactChangeXML(change, userID string, depts []int64, at time.Time) ([]byte, error) {
	ds := make([]string, len(depts))
	for i, d := range depts {
		ds[i] = strconv.FormatInt(d, 10)
	}
	b, err := xml.Marshal(changeContact{FromUserName: "sys", CreateTime: at.Unix(), MsgType: "event", Event: "change_contact",
		ChangeType: change, UserID: userID, Department: strings.Join(ds, ",")})
	if err != nil {
		return nil, fmt.Errorf("reconcile: %s %s: %w", change, userID, err)
	}
	return b, nil
}

// reconcilePersonJob is a known member's facts as WeCom lists them, where
// they differ from the stored ones; nil fields did not change. Status
// (Active) and leaders come only from the department walk.
type reconcilePersonJob struct {
	UserID        string    `json:"user_id"`
	Departments   []int64   `json:"departments,omitempty"`
	InPermitList  *bool     `json:"in_permit_list,omitempty"`
	Active        *bool     `json:"active,omitempty"`
	DirectLeaders *[]string `json:"direct_leaders,omitempty"`
}

// changes reports whether j changes anything.
func (j reconcilePersonJob) changes() bool {
	return j.Departments != nil || j.InPermitList != nil || j.Active != nil || j.DirectLeaders != nil
}

// reconcilePerson applies a KindReconcilePerson job: the member as stored
// now, with the facts reconciliation found, decided as
// policy.PeopleChanged (what an update_user or a permit-list change
// would decide: joining or leaving an audience) and stored.
func (p *Processor) reconcilePerson(ctx context.Context, d store.Delivery) error {
	var j reconcilePersonJob
	if err := json.Unmarshal(d.Payload, &j); err != nil {
		return fmt.Errorf("reconcile person: %w", err)
	}
	before, err := storedPerson(ctx, p.st, j.UserID)
	if err != nil {
		return err
	}
	if before == nil {
		return nil // deleted since: nothing left to change
	}
	after := *before
	if j.Departments != nil {
		after.Departments = slices.Clone(j.Departments)
		after.DepartmentPath = p.dir.path(ctx, after.Departments)
	}
	if j.InPermitList != nil {
		after.InPermitList = *j.InPermitList
	}
	if j.Active != nil {
		after.Active = *j.Active
	}
	if j.DirectLeaders != nil {
		after.DirectLeaders = slices.Clone(*j.DirectLeaders)
	}
	now := p.decisionTime(d)
	st := policy.State{Notices: p.cfg.Notices, Settings: p.cfg.Settings, People: map[string]policy.PersonChange{},
		ReceivedAt: now, DedupKey: d.DedupKey}
	if err := p.addPerson(ctx, &st, j.UserID, before, &after); err != nil {
		return err
	}
	ev := policy.PeopleChanged{Source: ReconcileReceiver}
	if err := p.apply(ctx, d.DedupKey, ev, st, policy.Decide(ev, st, now)); err != nil {
		return err
	}
	return p.savePeople(ctx, st.People)
}

// recheckConsents asks check_single_agree about every consent still
// unanswered and records the answers.
func (p *Processor) recheckConsents(ctx context.Context, now time.Time, day string, counts map[string]int) error {
	pending, err := p.pendingConsents(ctx, now)
	if err != nil {
		return fmt.Errorf("reconcile: list pending consents: %w", err)
	}
	counts["consents_pending"] = len(pending)
	pace := &pacer{now: p.cfg.Now, sleep: p.cfg.Sleep, every: consentPace}
	for batch := range slices.Chunk(pending, checkSingleAgreeBatch) {
		infos, notFound, err := p.askBatch(ctx, pace, batch, counts)
		if err != nil {
			if unavailable(err) {
				p.log.Warn("reconcile: cannot check consents through WeCom (check_single_agree needs the archive secret); consents not re-checked", "err", err)
				counts["consents_unavailable"] = 1
				return nil
			}
			return fmt.Errorf("reconcile: check_single_agree: %w", err)
		}
		if err := p.recordAnswers(ctx, now, day, batch, infos, notFound, counts); err != nil {
			return err
		}
	}
	return nil
}

// recordParallel is how many pairs of a batch are decided and recorded at
// once: each is a few store writes, which the store batches into one
// commit when they come together.
const recordParallel = 16

// recordAnswers decides and records what check_single_agree answered for
// each pair of batch (but those WeCom refused to know), each under its
// own origin, recordParallel at a time.
func (p *Processor) recordAnswers(ctx context.Context, now time.Time, day string, batch []policy.Consent,
	infos []wecom.AgreeInfo, notFound map[int]bool, counts map[string]int) error {
	var mu sync.Mutex // counts
	return parallel(ctx, recordParallel, len(batch), func(ctx context.Context, i int) error {
		c := batch[i]
		if notFound[i] {
			mu.Lock()
			counts["consents_not_found"]++
			mu.Unlock()
			return nil
		}
		ev := consentAnswer(c.UserID, c.ExternalUserID, infos)
		origin := reconcileKey(day, "consent", c.UserID) + ":" + c.ExternalUserID
		if err := p.consentChecked(ctx, origin, ev, now); err != nil {
			return fmt.Errorf("reconcile: consent %s/%s: %w", c.UserID, c.ExternalUserID, err)
		}
		mu.Lock()
		defer mu.Unlock()
		counts["consents_checked"]++
		if ev.Status != policy.ConsentUnknown {
			counts["consents_answered"]++
		}
		return nil
	})
}

// askBatch asks check_single_agree about batch (at most
// checkSingleAgreeBatch pairs) in one call. WeCom refuses the whole call
// (301061) when one pair names a member or customer it does not know (the
// member left, the customer is gone); the batch is then asked pair by
// pair, and notFound marks the pairs refused alone (nothing is recorded
// for them).
func (p *Processor) askBatch(ctx context.Context, pace *pacer, batch []policy.Consent, counts map[string]int) (infos []wecom.AgreeInfo, notFound map[int]bool, err error) {
	q := make([]wecom.AgreeQuery, len(batch))
	for i, c := range batch {
		q[i] = wecom.AgreeQuery{UserID: c.UserID, ExternalOpenID: c.ExternalUserID}
	}
	infos, err = p.checkAgree(ctx, pace, q, counts)
	if !archiveUserNotFound(err) {
		return infos, nil, err
	}
	notFound = map[int]bool{}
	if len(q) == 1 {
		notFound[0] = true
		return nil, notFound, nil
	}
	for i := range q {
		got, err := p.checkAgree(ctx, pace, q[i:i+1], counts)
		switch {
		case err == nil:
			infos = append(infos, got...)
		case archiveUserNotFound(err):
			notFound[i] = true
		default:
			return nil, nil, err
		}
	}
	return infos, notFound, nil
}

func archiveUserNotFound(err error) bool {
	var apiErr *wecom.APIError
	return errors.As(err, &apiErr) && apiErr.Code == wecom.CodeArchiveUserNotFound
}

// checkAgree makes one paced check_single_agree call (q holds at most
// checkSingleAgreeBatch pairs). Hit by the frequency limit (45009) it
// waits out WeCom's block once and tries again.
func (p *Processor) checkAgree(ctx context.Context, pace *pacer, q []wecom.AgreeQuery, counts map[string]int) ([]wecom.AgreeInfo, error) {
	for attempt := 0; ; attempt++ {
		if err := pace.wait(ctx); err != nil {
			return nil, err
		}
		counts["consent_calls"]++
		infos, err := p.dir.api.CheckSingleAgree(ctx, q)
		if err == nil || attempt > 0 || wecom.Classify(err) != wecom.ActionWaitWindow {
			return infos, err
		}
		if err := p.cfg.Sleep(ctx, frequencyBlock); err != nil {
			return nil, err
		}
	}
}

// pendingConsents lists the consents still unanswered (status unknown,
// the relationship not ended) and not checked since now (a run made
// again skips what it checked the first time).
func (p *Processor) pendingConsents(ctx context.Context, now time.Time) ([]policy.Consent, error) {
	var out []policy.Consent
	err := store.Each(ctx, pageSize, func(ctx context.Context, page store.Page) ([]policy.Consent, string, error) {
		return p.st.ListConsents(ctx, store.ConsentFilter{Status: policy.ConsentUnknown}, page)
	}, func(c policy.Consent) error {
		if c.DeletedAt.IsZero() && c.CheckedAt.Before(now) {
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// pacer spaces calls at least every apart, on an injected clock.
type pacer struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
	every time.Duration
	last  time.Time
}

// wait returns when the next call may be made.
func (pc *pacer) wait(ctx context.Context) error {
	if !pc.last.IsZero() {
		if d := pc.last.Add(pc.every).Sub(pc.now()); d > 0 {
			if err := pc.sleep(ctx, d); err != nil {
				return err
			}
		}
	}
	pc.last = pc.now()
	return nil
}
