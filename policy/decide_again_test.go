package policy

import (
	"reflect"
	"slices"
	"testing"
)

// applied returns st after acts, applied as the processor applies them to
// the store (CreateObligation, CloseObligation, Acknowledge and
// RecordConsent change what Decide reads; the messages change nothing it
// reads). st is not changed.
func applied(st State, acts []Action) State {
	st = cloneState(st)
	// owner is the key in st.People of the person userID names (the new
	// UserID of someone renamed is still under the old key).
	owner := func(userID string) string {
		for key, pc := range st.People {
			if key == userID || (pc.After != nil && pc.After.UserID == userID) {
				return key
			}
		}
		return userID
	}
	update := func(userID, noticeID string, version int, fn func(*Obligation)) {
		key := owner(userID)
		pc := st.People[key]
		for i := range pc.Obligations {
			if o := &pc.Obligations[i]; o.UserID == userID && o.NoticeID == noticeID && o.Version == version {
				fn(o)
			}
		}
		st.People[key] = pc
	}
	for _, a := range acts {
		switch a := a.(type) {
		case CreateObligation:
			o := a.Obligation
			key := owner(o.UserID)
			pc := st.People[key]
			if i := slices.IndexFunc(pc.Obligations, func(x Obligation) bool { return x.id() == o.id() }); i < 0 {
				pc.Obligations = append(pc.Obligations, o)
			} else if a.Reopen && pc.Obligations[i].Status == Cancelled {
				pc.Obligations[i] = o
			}
			st.People[key] = pc
		case CloseObligation:
			update(a.UserID, a.NoticeID, a.Version, func(o *Obligation) {
				if o.Status.Open() {
					o.Status, o.ClosedReason, o.ClosedAt = a.Status, a.Reason, a.At.UTC()
				}
			})
		case Acknowledge:
			att := a.Attestation
			key := owner(att.UserID)
			pc := st.People[key]
			if slices.ContainsFunc(pc.Attestations, func(x Attestation) bool {
				return x.NoticeID == att.NoticeID && x.Version == att.Version && x.Round == att.Round
			}) {
				continue // one per version and round
			}
			pc.Attestations = append(pc.Attestations, att)
			st.People[key] = pc
			update(att.UserID, att.NoticeID, att.Version, func(o *Obligation) {
				if o.Status.Open() && o.Round == att.Round {
					o.Status, o.AcknowledgedAt, o.ClosedAt = Acknowledged, att.ReceivedAt, att.ReceivedAt
					o.ClosedReason = ReasonCardClicked
					if att.Channel == ChannelReply {
						o.ClosedReason = ReasonReplyAck
					}
				}
			})
		case RecordConsent:
			c := a.Consent
			st.Consent = &c
		}
	}
	return st
}

// settled returns st with each person's new facts stored: Before is
// After, as the processor stores people once the actions are applied.
func settled(st State) State {
	people := make(map[string]PersonChange, len(st.People))
	for id, pc := range st.People {
		if pc.After == nil {
			pc.Before = nil
		} else {
			pc.Before = pc.After
		}
		people[id] = pc
	}
	st.People = people
	return st
}

// TestDecideAgain: every table row, decided again on the state that its
// decision left after any number of its actions were applied (a crash in
// between, the event delivered again), decides the same actions; decided
// again once all of them and the people's new facts are stored, it
// decides none that it did not decide the first time. So an event
// processed again sends nothing new and nothing different.
func TestDecideAgain(t *testing.T) {
	for table, cases := range allCases() {
		for _, tc := range cases {
			t.Run(table+"/"+tc.name, func(t *testing.T) {
				at := cmpOr(tc.now, now)
				first := Decide(tc.ev, tc.st, at)
				for k := range len(first) + 1 {
					if got := Decide(tc.ev, applied(tc.st, first[:k]), at); !reflect.DeepEqual(got, first) {
						t.Errorf("after %d of its %d actions were applied:", k, len(first))
						diffActions(t, got, first)
					}
				}
				for _, a := range Decide(tc.ev, settled(applied(tc.st, first)), at) {
					if !slices.ContainsFunc(first, func(b Action) bool { return reflect.DeepEqual(a, b) }) {
						t.Errorf("decided again once applied and stored: %#v, which the first decision did not decide", a)
					}
				}
			})
		}
	}
}
