package processor

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
)

// KindPublishChunk decides a published notice for up to publishChunk
// people at a time, so that no job outlives its lease however large the
// company.
const KindPublishChunk = store.JobPrefix + "policy.publish_chunk"

const publishChunk = 500

type publishJob struct {
	Notice string `json:"notice"` // Notice.Key()
}

type publishChunkJob struct {
	Notice string          `json:"notice"`
	People []policy.Person `json:"people"`
}

// Publish records a publish job for every configured notice version.
// Each version is decided once however often the server starts: the
// queue drops a repeat within a day, and a later repeat changes nothing
// (obligations exist, cards were sent). First it gives the store the
// notice versions to index obligations of by when they are due
// (store.Obligations.IndexDue): at start-up, the index of a store
// written before it existed, or under other reminder settings, is built.
func (p *Processor) Publish(ctx context.Context) error {
	if err := p.st.IndexDue(ctx, p.cfg.Notices); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	for _, n := range p.cfg.Notices {
		if _, err := p.st.Enqueue(ctx, store.Event{DedupKey: "publish:" + n.Key(), Kind: KindPublish, Receiver: "policy",
			ReceivedAt: p.cfg.Now().UTC(), Payload: mustJSON(publishJob{Notice: n.Key()})}); err != nil {
			return fmt.Errorf("publish %s: %w", n.Key(), err)
		}
	}
	return nil
}

func (p *Processor) notice(key string) (policy.Notice, bool) {
	for _, n := range p.cfg.Notices {
		if n.Key() == key {
			return n, true
		}
	}
	return policy.Notice{}, false
}

// publish lists everyone and records chunk jobs.
func (p *Processor) publish(ctx context.Context, d store.Delivery) error {
	var j publishJob
	if err := json.Unmarshal(d.Payload, &j); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if _, ok := p.notice(j.Notice); !ok {
		p.log.Info("publish: the notice version is no longer configured; skipped", "notice", j.Notice)
		return nil
	}
	people, err := p.everyone(ctx)
	if err != nil {
		return fmt.Errorf("publish %s: %w", j.Notice, err)
	}
	for chunk := range slices.Chunk(people, publishChunk) {
		ids := make([]string, len(chunk))
		for i, pp := range chunk {
			ids[i] = pp.UserID
		}
		sum := sha256.Sum256([]byte(fmt.Sprint(ids)))
		// Received when the publish was: each chunk is decided at that
		// time, however late or often it runs.
		if _, err := p.st.Enqueue(ctx, store.Event{DedupKey: "publish:" + j.Notice + ":" + hex.EncodeToString(sum[:12]),
			Kind: KindPublishChunk, Receiver: "policy", ReceivedAt: p.decisionTime(d).UTC(),
			Payload: mustJSON(publishChunkJob{Notice: j.Notice, People: chunk})}); err != nil {
			return fmt.Errorf("publish %s: %w", j.Notice, err)
		}
	}
	p.log.Info("publishing notice", "notice", j.Notice, "people", len(people))
	return nil
}

// publishChunk decides a published notice for one chunk of people.
func (p *Processor) publishChunk(ctx context.Context, d store.Delivery) error {
	var j publishChunkJob
	if err := json.Unmarshal(d.Payload, &j); err != nil {
		return fmt.Errorf("publish chunk: %w", err)
	}
	n, ok := p.notice(j.Notice)
	if !ok {
		return nil
	}
	now := p.decisionTime(d)
	st := policy.State{Notices: p.cfg.Notices, Settings: p.cfg.Settings, People: make(map[string]policy.PersonChange, len(j.People)),
		ReceivedAt: now, DedupKey: d.DedupKey}
	for i := range j.People {
		person := &j.People[i]
		obs, err := p.obligationsOf(ctx, person.UserID)
		if err != nil {
			return err
		}
		st.People[person.UserID] = policy.PersonChange{Before: person, After: person, Obligations: obs}
	}
	ev := policy.NoticePublished{Notice: n}
	return p.apply(ctx, d.DedupKey, ev, st, policy.Decide(ev, st, now))
}

// everyone lists the company's members: from WeCom when the contacts
// API answers (and stores what it learns), else as the store knows them.
func (p *Processor) everyone(ctx context.Context) ([]policy.Person, error) {
	if p.dir.api != nil {
		people, err := p.listFromWeCom(ctx)
		if err == nil {
			return people, nil
		}
		if !errors.Is(err, wecom.ErrNoSecret) {
			var apiErr *wecom.APIError
			if !errors.As(err, &apiErr) {
				return nil, err // transient: retry the job
			}
		}
		p.log.Warn("publish: cannot list members through WeCom; using the people wecomply knows from callbacks", "err", err)
	}
	return p.allPeople(ctx)
}

// listFromWeCom walks user/list_id and builds each member, keeping what
// the store knew (tags, names, leaders) and storing the result.
func (p *Processor) listFromWeCom(ctx context.Context) ([]policy.Person, error) {
	depts, err := p.memberDepartments(ctx)
	if err != nil {
		return nil, err
	}
	ids := slices.Sorted(maps.Keys(depts))
	// One read and maybe one write per member: done by several goroutines,
	// so the store can commit their writes together (one by one, a 100,000
	// member company took longer than a job may run).
	people := make([]policy.Person, len(ids))
	err = parallel(ctx, memberWriters, len(ids), func(ctx context.Context, i int) error {
		person, err := p.memberRecord(ctx, ids[i], depts[ids[i]])
		people[i] = person
		return err
	})
	if err != nil {
		return nil, err
	}
	return people, nil
}

// memberWriters is how many members listFromWeCom records at once.
const memberWriters = 32

// memberRecord updates the stored record of a listed member with the
// departments WeCom lists them in (and the permit list), storing it if it
// changed.
func (p *Processor) memberRecord(ctx context.Context, id string, depts []int64) (policy.Person, error) {
	prev, err := storedPerson(ctx, p.st, id)
	if err != nil {
		return policy.Person{}, err
	}
	person := policy.Person{UserID: id, Active: true}
	if prev != nil {
		person = *prev
	}
	person.Departments = slices.Clone(depts)
	slices.Sort(person.Departments)
	person.DepartmentPath = p.dir.path(ctx, person.Departments)
	if in, known := p.dir.inPermitList(ctx, id); known {
		person.InPermitList = in
	}
	if prev == nil || !samePerson(*prev, person) {
		if err := p.st.PutPerson(ctx, person); err != nil {
			return policy.Person{}, err
		}
	}
	return person, nil
}

// memberDepartments walks user/list_id: every member's UserID with the
// departments they are in.
func (p *Processor) memberDepartments(ctx context.Context) (map[string][]int64, error) {
	depts := map[string][]int64{}
	cursor := ""
	for {
		rows, next, err := p.dir.api.ListUserIDs(ctx, cursor, 10000)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			depts[r.UserID] = append(depts[r.UserID], int64(r.Department))
		}
		if next == "" {
			return depts, nil
		}
		cursor = next
	}
}

func samePerson(a, b policy.Person) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
