package policy

import (
	"strconv"
	"testing"
	"time"

	"github.com/wecomply/wecomply/wecom"
)

// external is a change_external_contact event between zhangsan and the
// customer wmCUSTOMER.
func external(change string) *wecom.ExternalContactChange {
	return &wecom.ExternalContactChange{
		Header:         wecom.Header{ToUserName: "ww1", FromUserName: "sys", CreateTime: evTime.Unix(), MsgType: "event", Event: "change_external_contact", ChangeType: change},
		UserID:         "zhangsan",
		ExternalUserID: "wmCUSTOMER",
	}
}

func withCode(e *wecom.ExternalContactChange) *wecom.ExternalContactChange {
	e.WelcomeCode, e.State = "WELCOME-CODE", "booth-42"
	return e
}

// customerState has zhangsan (as p) and the pair's consent c (nil: none
// recorded).
func customerState(p *Person, c *Consent) State {
	st := baseState()
	if p != nil {
		st.People = map[string]PersonChange{p.UserID: same(p)}
	}
	st.Consent = c
	return st
}

// The pair's history.
var (
	addedAt    = time.Date(2026, time.November, 19, 2, 0, 0, 0, time.UTC) // four days before now: beyond the 72 h grace
	answeredAt = time.Date(2026, time.November, 23, 1, 0, 0, 0, time.UTC) // 09:00 in Beijing
	earlier    = time.Date(2026, time.November, 20, 3, 0, 0, 0, time.UTC)
)

// pair is the pair's consent record in status s.
func pair(s ConsentStatus, f ...func(*Consent)) Consent {
	c := Consent{UserID: "zhangsan", ExternalUserID: "wmCUSTOMER", Status: s, Source: "add_external_contact", AddedAt: addedAt}
	for _, f := range f {
		f(&c)
	}
	return c
}

func stored(c Consent) *Consent { return &c }

func record(c Consent, reason Reason) RecordConsent { return RecordConsent{Consent: c, Reason: reason} }

func welcome(name string) SendWelcome {
	return SendWelcome{
		WelcomeCode: "WELCOME-CODE", UserID: "zhangsan", ExternalUserID: "wmCUSTOMER",
		Template: "welcome", Lang: "zh-CN",
		Data:     map[string]any{"EmployeeName": name, "Company": "示例科技"},
		Deadline: evTime.Add(20 * time.Second),
		Reason:   ReasonCustomerAdded,
	}
}

var check = CheckConsent{UserID: "zhangsan", ExternalUserID: "wmCUSTOMER", Reason: ReasonCustomerAdded}

func TestDecideCustomer(t *testing.T) { runCases(t, customerCases()) }

func customerCases() []decideCase {
	added := Consent{UserID: "zhangsan", ExternalUserID: "wmCUSTOMER", Status: ConsentUnknown, Source: "add_external_contact", AddedAt: evTime}
	noTemplate := customerState(permitted(zhangsan()), nil)
	noTemplate.Settings.WelcomeTemplate = ""
	agreed := pair(ConsentAgreed, func(c *Consent) { c.Source, c.ChangedAt = "msg_audit_approved", earlier })
	deleted := pair(ConsentDisagreed, func(c *Consent) {
		c.Source, c.ChangedAt, c.CheckedAt, c.NotifiedAt = "check_single_agree", earlier, earlier, earlier
		c.DeletedAt, c.DeleteReason = earlier, "del_follow_user"
	})
	missingID := external("add_external_contact")
	missingID.ExternalUserID = ""
	transfer := external("del_external_contact")
	transfer.Source = "DELETE_BY_TRANSFER"
	refused := external("transfer_fail")
	refused.FailReason = "customer_refused"
	return []decideCase{
		{
			// A customer added, with a welcome code, by a member whose
			// chats are archived: the disclosure welcome (the code lives
			// 20 s), a new unknown consent, and a check.
			name: "add with code in permit list",
			ev:   withCode(external("add_external_contact")),
			st:   customerState(permitted(zhangsan()), nil),
			want: []Action{record(added, ReasonCustomerAdded), check, welcome("张三")},
		},
		{
			// No code (the customer chatted before, or the admin set a
			// welcome): no welcome message.
			name: "add without code",
			ev:   external("add_external_contact"),
			st:   customerState(permitted(zhangsan()), nil),
			want: []Action{record(added, ReasonCustomerAdded), check},
		},
		{
			// No welcome template configured: none sent.
			name: "add with code without template",
			ev:   withCode(external("add_external_contact")),
			st:   noTemplate,
			want: []Action{record(added, ReasonCustomerAdded), check},
		},
		{
			// Not in the permit list: nothing archived, nothing to check.
			name: "add not in permit list",
			ev:   withCode(external("add_external_contact")),
			st:   customerState(zhangsan(), nil),
			want: []Action{record(added, ReasonCustomerAdded), welcome("张三")},
		},
		{
			// The member unknown to the caller: their UserID stands for
			// their name; no check (not known to be archived).
			name: "add by an unknown member",
			ev:   withCode(external("add_external_contact")),
			st:   customerState(nil, nil),
			want: []Action{record(added, ReasonCustomerAdded), welcome("zhangsan")},
		},
		{
			// Half-added (the member has not confirmed yet): the same,
			// the source saying which.
			name: "add half",
			ev:   withCode(external("add_half_external_contact")),
			st:   customerState(permitted(zhangsan()), nil),
			want: []Action{
				record(func() Consent { c := added; c.Source = "add_half_external_contact"; return c }(), ReasonCustomerAdded),
				check,
				welcome("张三"),
			},
		},
		{
			// The full add after the half add: the record stands as it
			// is, agreement and first time included.
			name: "add with a consent on record",
			ev:   external("add_external_contact"),
			st:   customerState(permitted(zhangsan()), stored(agreed)),
			want: []Action{record(agreed, ReasonCustomerAdded), check},
		},
		{
			// A record with no time added (made by msg_audit_approved
			// first): the add's time fills it.
			name: "add with a consent on record without time",
			ev:   external("add_external_contact"),
			st:   customerState(zhangsan(), stored(pair(ConsentAgreed, func(c *Consent) { c.AddedAt = time.Time{} }))),
			want: []Action{record(pair(ConsentAgreed, func(c *Consent) { c.AddedAt = evTime }), ReasonCustomerAdded)},
		},
		{
			// Added again after the relationship ended: a new one, with
			// its own grace and notices; the last answer stands until
			// checked.
			name: "add after a deletion",
			ev:   external("add_external_contact"),
			st:   customerState(permitted(zhangsan()), stored(deleted)),
			want: []Action{
				record(pair(ConsentDisagreed, func(c *Consent) {
					c.Source, c.ChangedAt, c.CheckedAt, c.AddedAt = "check_single_agree", earlier, earlier, evTime
				}), ReasonCustomerAdded),
				check,
			},
		},
		{
			// The customer agreed to archiving (path/92005).
			name: "msg_audit_approved",
			ev:   withCode(external("msg_audit_approved")),
			st:   customerState(permitted(zhangsan()), stored(pair(ConsentUnknown))),
			want: []Action{record(pair(ConsentAgreed, func(c *Consent) { c.Source, c.ChangedAt = "msg_audit_approved", evTime }), ReasonConsentAgreed)},
		},
		{
			// … with no record yet.
			name: "msg_audit_approved without a record",
			ev:   external("msg_audit_approved"),
			st:   customerState(nil, nil),
			want: []Action{record(Consent{UserID: "zhangsan", ExternalUserID: "wmCUSTOMER", Status: ConsentAgreed, Source: "msg_audit_approved", ChangedAt: evTime}, ReasonConsentAgreed)},
		},
		{
			// The member deleted the customer: the record ends, its
			// answer kept.
			name: "del_external_contact",
			ev:   external("del_external_contact"),
			st:   customerState(zhangsan(), stored(agreed)),
			want: []Action{record(func() Consent {
				c := agreed
				c.DeletedAt, c.DeleteReason = now, "del_external_contact"
				return c
			}(), ReasonContactDeleted)},
		},
		{
			// Deleted by an on-the-job transfer: said in the reason.
			name: "del_external_contact by transfer",
			ev:   transfer,
			st:   customerState(zhangsan(), stored(agreed)),
			want: []Action{record(func() Consent {
				c := agreed
				c.DeletedAt, c.DeleteReason = now, "del_external_contact: DELETE_BY_TRANSFER"
				return c
			}(), ReasonContactDeleted)},
		},
		{
			// The customer deleted the member; nothing on record.
			name: "del_follow_user without a record",
			ev:   external("del_follow_user"),
			st:   customerState(zhangsan(), nil),
			want: []Action{record(Consent{
				UserID: "zhangsan", ExternalUserID: "wmCUSTOMER", Status: ConsentUnknown, Source: "del_follow_user",
				DeletedAt: now, DeleteReason: "del_follow_user",
			}, ReasonContactDeleted)},
		},
		{
			// A replayed deletion keeps the first deletion's time.
			name: "deletion replayed",
			ev:   external("del_follow_user"),
			st:   customerState(zhangsan(), stored(deleted)),
			want: []Action{record(deleted, ReasonContactDeleted)},
		},
		{
			// A transfer the customer refused: the record unchanged but
			// for why.
			name: "transfer_fail",
			ev:   refused,
			st:   customerState(zhangsan(), stored(agreed)),
			want: []Action{record(func() Consent {
				c := agreed
				c.DeleteReason = "transfer_fail: customer_refused"
				return c
			}(), ReasonTransferFailed)},
		},
		{
			// Remarks and tags: nothing for compliance.
			name: "edit_external_contact",
			ev:   external("edit_external_contact"),
			st:   customerState(zhangsan(), stored(agreed)),
		},
		{
			// An unknown change type.
			name: "unknown change",
			ev:   external("merge_external_contact"),
			st:   customerState(zhangsan(), stored(agreed)),
		},
		{
			// No customer named: no pair to speak of.
			name: "missing external user id",
			ev:   missingID,
			st:   customerState(permitted(zhangsan()), nil),
		},
		{
			// New archived messages wait: hand them to the puller.
			name: "msgaudit_notify",
			ev: &wecom.MsgAuditNotify{Header: wecom.Header{
				ToUserName: "ww1", FromUserName: "sys", CreateTime: evTime.Unix(), MsgType: "event", Event: "msgaudit_notify", AgentID: "2000004",
			}},
			st:   baseState(),
			want: []Action{RecordArchiveWaiting{At: evTime, Reason: ReasonArchiveWaiting}},
		},
	}
}

// consentNoticesFor are the employee text and the officers' alert about
// the pair in status, since since (zero: unknown).
func consentNoticesFor(status ConsentStatus, since time.Time, name, lang string, officers []string, reason Reason) []Action {
	key := "zhangsan:wmCUSTOMER:" + string(status)
	at := now.In(cst).Format("2006-01-02 15:04")
	if !since.IsZero() {
		key += ":" + strconv.FormatInt(since.Unix(), 10)
		at = since.In(cst).Format("2006-01-02 15:04")
	}
	acts := []Action{SendText{
		Key: "consent-employee:" + key, Template: "consent_employee", Lang: lang,
		Data: map[string]any{
			"Company": "示例科技", "Customer": "wmCUSTOMER", "Status": string(status),
			"Policy": "请勿在企业微信中讨论交易细节。", "URL": "https://example.com/policy/archive",
		},
		UserIDs: []string{"zhangsan"}, Reason: reason,
	}}
	if len(officers) > 0 {
		acts = append(acts, Alert{
			Key: "consent-alert:" + key, UserIDs: officers, Template: "consent_alert", Lang: "zh-CN",
			Data:   map[string]any{"Customer": "wmCUSTOMER", "UserID": "zhangsan", "UserName": name, "Status": string(status), "At": at},
			Reason: reason,
		})
	}
	return acts
}

func TestDecideConsentChecked(t *testing.T) { runCases(t, consentCases()) }

func consentCases() []decideCase {
	checked := func(s ConsentStatus, changed time.Time) ConsentChecked {
		return ConsentChecked{UserID: "zhangsan", ExternalUserID: "wmCUSTOMER", Status: s, ChangedAt: changed}
	}
	officers := []string{"officer1", "officer2"}
	noOfficers := customerState(permitted(zhangsan()), stored(pair(ConsentUnknown)))
	noOfficers.Settings.Officers = nil
	noGrace := customerState(permitted(zhangsan()), stored(pair(ConsentUnknown)))
	noGrace.Settings.ConsentGrace = 0
	english := customerState(permitted(with(zhangsan(), func(p *Person) { p.Language = "en" })), nil)
	recent := func(c *Consent) { c.AddedAt = now.Add(-24 * time.Hour) }
	notified := func(c *Consent) { c.NotifiedAt = earlier }
	// disagreedNow is the pair after a first refusal, told now.
	disagreedNow := func(f ...func(*Consent)) Consent {
		return pair(ConsentDisagreed, append([]func(*Consent){func(c *Consent) {
			c.Source, c.ChangedAt, c.CheckedAt, c.NotifiedAt = "check_single_agree", answeredAt, now, now
		}}, f...)...)
	}
	return []decideCase{
		{
			// The customer agreed.
			name: "agreed",
			ev:   checked(ConsentAgreed, answeredAt),
			st:   customerState(permitted(zhangsan()), stored(pair(ConsentUnknown))),
			want: []Action{record(pair(ConsentAgreed, func(c *Consent) {
				c.Source, c.ChangedAt, c.CheckedAt = "check_single_agree", answeredAt, now
			}), ReasonConsentAgreed)},
		},
		{
			// The same, as a pointer event.
			name: "agreed pointer event",
			ev:   &ConsentChecked{UserID: "zhangsan", ExternalUserID: "wmCUSTOMER", Status: ConsentAgreed, ChangedAt: answeredAt},
			st:   customerState(permitted(zhangsan()), stored(pair(ConsentUnknown))),
			want: []Action{record(pair(ConsentAgreed, func(c *Consent) {
				c.Source, c.ChangedAt, c.CheckedAt = "check_single_agree", answeredAt, now
			}), ReasonConsentAgreed)},
		},
		{
			// Decided again after its record was stored (a crash, the
			// job run again): the same record again, not "agreed
			// already".
			name: "agreed decided again",
			ev:   checked(ConsentAgreed, answeredAt),
			st: customerState(permitted(zhangsan()), stored(pair(ConsentAgreed, func(c *Consent) {
				c.Source, c.ChangedAt, c.CheckedAt = "check_single_agree", answeredAt, now
			}))),
			want: []Action{record(pair(ConsentAgreed, func(c *Consent) {
				c.Source, c.ChangedAt, c.CheckedAt = "check_single_agree", answeredAt, now
			}), ReasonConsentAgreed)},
		},
		{
			// Agreed already: nothing new.
			name: "agreed again",
			ev:   checked(ConsentAgreed, answeredAt),
			st:   customerState(permitted(zhangsan()), stored(pair(ConsentAgreed))),
		},
		{
			// Refused: recorded, and the employee and the officers
			// (sorted, once each) told, once.
			name: "disagreed",
			ev:   checked(ConsentDisagreed, answeredAt),
			st:   customerState(permitted(zhangsan()), stored(pair(ConsentUnknown))),
			want: append([]Action{record(disagreedNow(), ReasonConsentDisagreed)},
				consentNoticesFor(ConsentDisagreed, answeredAt, "张三", "zh-CN", officers, ReasonConsentDisagreed)...),
		},
		{
			// Refused, told already: only the check is recorded.
			name: "disagreed again notified",
			ev:   checked(ConsentDisagreed, answeredAt),
			st:   customerState(permitted(zhangsan()), stored(pair(ConsentDisagreed, notified, func(c *Consent) { c.ChangedAt = answeredAt }))),
			want: []Action{record(pair(ConsentDisagreed, notified, func(c *Consent) {
				c.Source, c.ChangedAt, c.CheckedAt = "check_single_agree", answeredAt, now
			}), ReasonConsentDisagreed)},
		},
		{
			// Decided again after its record (told now) was stored but
			// before the texts went out: they are decided again, the
			// same, rather than dropped as told.
			name: "disagreed decided again",
			ev:   checked(ConsentDisagreed, answeredAt),
			st:   customerState(permitted(zhangsan()), stored(disagreedNow())),
			want: append([]Action{record(disagreedNow(), ReasonConsentDisagreed)},
				consentNoticesFor(ConsentDisagreed, answeredAt, "张三", "zh-CN", officers, ReasonConsentDisagreed)...),
		},
		{
			// Refused on record but never told (a failed run): told now.
			name: "disagreed on record not notified",
			ev:   checked(ConsentDisagreed, answeredAt),
			st:   customerState(permitted(zhangsan()), stored(pair(ConsentDisagreed, func(c *Consent) { c.ChangedAt = answeredAt }))),
			want: append([]Action{record(disagreedNow(), ReasonConsentDisagreed)},
				consentNoticesFor(ConsentDisagreed, answeredAt, "张三", "zh-CN", officers, ReasonConsentDisagreed)...),
		},
		{
			// Agreed after an earlier refusal, and now refused again:
			// the status changed, so told again (a new key: the new
			// answer's time).
			name: "disagreed after agreeing",
			ev:   checked(ConsentDisagreed, answeredAt),
			st:   customerState(permitted(zhangsan()), stored(pair(ConsentAgreed, notified))),
			want: append([]Action{record(disagreedNow(), ReasonConsentDisagreed)},
				consentNoticesFor(ConsentDisagreed, answeredAt, "张三", "zh-CN", officers, ReasonConsentDisagreed)...),
		},
		{
			// No officers configured: only the employee is told.
			name: "disagreed without officers",
			ev:   checked(ConsentDisagreed, answeredAt),
			st:   noOfficers,
			want: append([]Action{record(disagreedNow(), ReasonConsentDisagreed)},
				consentNoticesFor(ConsentDisagreed, answeredAt, "张三", "zh-CN", nil, ReasonConsentDisagreed)...),
		},
		{
			// WeCom gave no time of the answer: the key has none, the
			// alert says now.
			name: "disagreed without a time",
			ev:   checked(ConsentDisagreed, time.Time{}),
			st:   customerState(nil, nil),
			want: append([]Action{record(Consent{
				UserID: "zhangsan", ExternalUserID: "wmCUSTOMER", Status: ConsentDisagreed, Source: "check_single_agree",
				CheckedAt: now, NotifiedAt: now,
			}, ReasonConsentDisagreed)},
				consentNoticesFor(ConsentDisagreed, time.Time{}, "zhangsan", "zh-CN", officers, ReasonConsentDisagreed)...),
		},
		{
			// The employee reads English: their text is in English; the
			// officers' alert in the default language.
			name: "disagreed english employee",
			ev:   checked(ConsentDisagreed, answeredAt),
			st:   english,
			want: append([]Action{record(Consent{
				UserID: "zhangsan", ExternalUserID: "wmCUSTOMER", Status: ConsentDisagreed, Source: "check_single_agree",
				ChangedAt: answeredAt, CheckedAt: now, NotifiedAt: now,
			}, ReasonConsentDisagreed)},
				consentNoticesFor(ConsentDisagreed, answeredAt, "张三", "en", officers, ReasonConsentDisagreed)...),
		},
		{
			// No answer yet, within the grace period: the check is
			// recorded.
			name: "unknown within grace",
			ev:   checked(ConsentUnknown, time.Time{}),
			st:   customerState(permitted(zhangsan()), stored(pair(ConsentUnknown, recent))),
			want: []Action{record(pair(ConsentUnknown, recent, func(c *Consent) { c.CheckedAt = now }), ReasonConsentChecked)},
		},
		{
			// Exactly the grace period: not beyond it yet.
			name: "unknown at the end of grace",
			ev:   checked(ConsentUnknown, time.Time{}),
			st:   customerState(permitted(zhangsan()), stored(pair(ConsentUnknown, func(c *Consent) { c.AddedAt = now.Add(-72 * time.Hour) }))),
			want: []Action{record(pair(ConsentUnknown, func(c *Consent) { c.AddedAt, c.CheckedAt = now.Add(-72*time.Hour), now }), ReasonConsentChecked)},
		},
		{
			// No answer four days on: the employee and the officers are
			// told, once (the key names when the customer was added).
			name: "unknown beyond grace",
			ev:   checked(ConsentUnknown, time.Time{}),
			st:   customerState(permitted(zhangsan()), stored(pair(ConsentUnknown))),
			want: append([]Action{record(pair(ConsentUnknown, func(c *Consent) { c.CheckedAt, c.NotifiedAt = now, now }), ReasonConsentMissing)},
				consentNoticesFor(ConsentUnknown, addedAt, "张三", "zh-CN", officers, ReasonConsentMissing)...),
		},
		{
			// Decided again after its record (told now) was stored: the
			// texts again, the same.
			name: "unknown beyond grace decided again",
			ev:   checked(ConsentUnknown, time.Time{}),
			st:   customerState(permitted(zhangsan()), stored(pair(ConsentUnknown, func(c *Consent) { c.CheckedAt, c.NotifiedAt = now, now }))),
			want: append([]Action{record(pair(ConsentUnknown, func(c *Consent) { c.CheckedAt, c.NotifiedAt = now, now }), ReasonConsentMissing)},
				consentNoticesFor(ConsentUnknown, addedAt, "张三", "zh-CN", officers, ReasonConsentMissing)...),
		},
		{
			// Told already: the check is recorded, nobody told again.
			name: "unknown beyond grace notified",
			ev:   checked(ConsentUnknown, time.Time{}),
			st:   customerState(permitted(zhangsan()), stored(pair(ConsentUnknown, notified))),
			want: []Action{record(pair(ConsentUnknown, notified, func(c *Consent) { c.CheckedAt = now }), ReasonConsentChecked)},
		},
		{
			// No grace configured: never told about a missing answer.
			name: "unknown without grace",
			ev:   checked(ConsentUnknown, time.Time{}),
			st:   noGrace,
			want: []Action{record(pair(ConsentUnknown, func(c *Consent) { c.CheckedAt = now }), ReasonConsentChecked)},
		},
		{
			// The relationship ended: a missing answer no longer matters.
			name: "unknown beyond grace deleted",
			ev:   checked(ConsentUnknown, time.Time{}),
			st:   customerState(permitted(zhangsan()), stored(pair(ConsentUnknown, func(c *Consent) { c.DeletedAt = earlier }))),
			want: []Action{record(pair(ConsentUnknown, func(c *Consent) { c.DeletedAt, c.CheckedAt = earlier, now }), ReasonConsentChecked)},
		},
		{
			// WeCom knows no answer but we recorded an agreement
			// (msg_audit_approved): the agreement stands.
			name: "unknown with an agreement on record",
			ev:   checked(ConsentUnknown, time.Time{}),
			st:   customerState(permitted(zhangsan()), stored(pair(ConsentAgreed))),
			want: []Action{record(pair(ConsentAgreed, func(c *Consent) { c.CheckedAt = now }), ReasonConsentChecked)},
		},
		{
			// Nothing on record (so no time added): recorded, nobody
			// told. An empty status is unknown.
			name: "unknown without a record",
			ev:   checked("", time.Time{}),
			st:   customerState(permitted(zhangsan()), nil),
			want: []Action{record(Consent{
				UserID: "zhangsan", ExternalUserID: "wmCUSTOMER", Status: ConsentUnknown, Source: "check_single_agree", CheckedAt: now,
			}, ReasonConsentChecked)},
		},
		{
			// A status that is none of ours (WeCom's raw "Agree"): the
			// caller must map it; nothing decided.
			name: "foreign status",
			ev:   checked("Agree", answeredAt),
			st:   customerState(permitted(zhangsan()), stored(pair(ConsentUnknown))),
		},
		{
			// No pair named.
			name: "no pair",
			ev:   ConsentChecked{Status: ConsentDisagreed},
			st:   customerState(permitted(zhangsan()), stored(pair(ConsentUnknown))),
		},
	}
}
