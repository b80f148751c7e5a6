package processor_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wecomply/wecomply/policy"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// BenchmarkReconcile is one reconcile run over a company of 2,000
// members, all known (the daily case: nothing missed), with 1,000 pending
// consents (10 check_single_agree calls, paced on the injected clock, so
// the pacing costs no wall time here). Each iteration is a new activation.
func BenchmarkReconcile(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	now := e.clock.Now()
	const members, consents = 2000, 1000
	ids := make([]string, members)
	for i := range members {
		ids[i] = fmt.Sprintf("member%04d", i)
		e.fake.AddUser(wecomtest.User{UserID: ids[i], Name: ids[i], Department: []int64{1}})
		if err := e.st.PutPerson(ctx, policy.Person{UserID: ids[i], Name: ids[i], Departments: []int64{1},
			DepartmentPath: []int64{1}, Active: true, InPermitList: i%2 == 0}); err != nil {
			b.Fatal(err)
		}
	}
	if err := e.st.PutPerson(ctx, policy.Person{UserID: "officer", Name: "王芳", Departments: []int64{1},
		DepartmentPath: []int64{1}, Active: true}); err != nil {
		b.Fatal(err)
	}
	var permit []string
	for i := 0; i < members; i += 2 {
		permit = append(permit, ids[i])
	}
	e.fake.SetPermitUsers(permit)
	for i := range consents {
		ext := fmt.Sprintf("wmBench%04d", i)
		e.fake.AddExternalContact(wecomtest.ExternalContact{ExternalUserID: ext, Name: ext, Type: 1},
			wecomtest.FollowUser{UserID: ids[i%members]})
		if err := e.st.PutConsent(ctx, policy.Consent{UserID: ids[i%members], ExternalUserID: ext,
			Status: policy.ConsentUnknown, AddedAt: now.Add(-time.Hour)}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		counts, err := e.proc.Reconcile(ctx, now.Add(time.Duration(i+1)*24*time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		if counts["enqueued"] != 0 || counts["consent_calls"] != consents/100 {
			b.Fatalf("counts %v: want nothing enqueued and %d calls", counts, consents/100)
		}
	}
}
