package policy

import (
	"strconv"
	"time"

	"github.com/wecomply/wecomply/wecom"
)

// The customer loop: the disclosure welcome message and the customer's
// consent to archiving.

// welcomeCodeTTL is how long an add event's WelcomeCode can be used
// (path/92137: 20 seconds).
const welcomeCodeTTL = 20 * time.Second

// consentBase returns the pair's consent record to change: the stored one
// (st.Consent), or a new unknown one from source.
func consentBase(st State, userID, externalUserID, source string) Consent {
	c := Consent{Status: ConsentUnknown, Source: source}
	if st.Consent != nil {
		c = *st.Consent
	}
	c.UserID, c.ExternalUserID = userID, externalUserID
	if c.Status == "" {
		c.Status = ConsentUnknown
	}
	return c
}

// employee returns the member as People knows them now, or nil.
func employee(st State, userID string) *Person {
	return st.People[userID].current()
}

// employeeName is the member's name, or their UserID if it is unknown.
func employeeName(st State, userID string) string {
	if p := employee(st, userID); p != nil && p.Name != "" {
		return p.Name
	}
	return userID
}

// decideExternalContact handles change_external_contact.
func decideExternalContact(e *wecom.ExternalContactChange, st State, now time.Time) []Action {
	if e.UserID == "" || e.ExternalUserID == "" {
		return nil
	}
	at := eventTime(e.CreateTime)
	c := consentBase(st, e.UserID, e.ExternalUserID, e.ChangeType)
	switch e.ChangeType {
	case "add_external_contact", "add_half_external_contact":
		var acts []Action
		s := st.Settings
		if e.WelcomeCode != "" && s.WelcomeTemplate != "" {
			acts = append(acts, SendWelcome{
				WelcomeCode:    e.WelcomeCode,
				UserID:         e.UserID,
				ExternalUserID: e.ExternalUserID,
				Template:       s.WelcomeTemplate,
				Lang:           s.DefaultLanguage,
				Data:           map[string]any{"EmployeeName": employeeName(st, e.UserID), "Company": s.Company},
				Deadline:       at.Add(welcomeCodeTTL),
				Reason:         ReasonCustomerAdded,
			})
		}
		switch {
		case !c.DeletedAt.IsZero():
			// Added again after the relationship ended: a new one starts
			// (and its grace period); the answer stands until checked.
			c.AddedAt, c.DeletedAt, c.DeleteReason, c.NotifiedAt = at, time.Time{}, "", time.Time{}
		case c.AddedAt.IsZero():
			c.AddedAt = at
		}
		acts = append(acts, RecordConsent{Consent: c, Reason: ReasonCustomerAdded})
		// Only the chats of members in the archive permit list are
		// archived, so only theirs need the customer's consent.
		if p := st.People[e.UserID].After; p != nil && p.InPermitList {
			acts = append(acts, CheckConsent{UserID: e.UserID, ExternalUserID: e.ExternalUserID, Reason: ReasonCustomerAdded})
		}
		return acts
	case "msg_audit_approved":
		c.Status, c.Source, c.ChangedAt = ConsentAgreed, "msg_audit_approved", at
		return []Action{RecordConsent{Consent: c, Reason: ReasonConsentAgreed}}
	case "del_external_contact", "del_follow_user":
		if c.DeletedAt.IsZero() { // a replay keeps the first time
			c.DeletedAt = now
		}
		c.DeleteReason = e.ChangeType
		if e.Source != "" {
			c.DeleteReason += ": " + e.Source
		}
		return []Action{RecordConsent{Consent: c, Reason: ReasonContactDeleted}}
	case "transfer_fail":
		c.DeleteReason = "transfer_fail"
		if e.FailReason != "" {
			c.DeleteReason += ": " + e.FailReason
		}
		return []Action{RecordConsent{Consent: c, Reason: ReasonTransferFailed}}
	}
	return nil // edit_external_contact and the unknown
}

// checkSource is the Source of a consent from a check.
const checkSource = "check_single_agree"

// decideConsentChecked records what check_single_agree answered, and
// tells the employee and the officers about a refusal, or about no
// answer after the grace period, once. A record this check wrote in an
// earlier run (checked, or notified, at now: the check's time) is decided
// as then: the texts are decided again, so that a crash between recording
// and telling does not leave them untold.
func decideConsentChecked(e ConsentChecked, st State, now time.Time) []Action {
	if e.UserID == "" || e.ExternalUserID == "" {
		return nil
	}
	c := consentBase(st, e.UserID, e.ExternalUserID, checkSource)
	prev := c.Status
	notified := c.NotifiedAt.Equal(now) // by this check, in an earlier run
	switch e.Status {
	case ConsentAgreed:
		if prev == ConsentAgreed && !c.CheckedAt.Equal(now) {
			return nil
		}
		c.Status, c.Source, c.ChangedAt, c.CheckedAt = ConsentAgreed, checkSource, e.ChangedAt, now
		return []Action{RecordConsent{Consent: c, Reason: ReasonConsentAgreed}}
	case ConsentDisagreed:
		if prev != ConsentDisagreed || !e.ChangedAt.IsZero() {
			c.ChangedAt = e.ChangedAt
		}
		c.Status, c.Source, c.CheckedAt = ConsentDisagreed, checkSource, now
		acts := []Action{}
		if c.NotifiedAt.IsZero() || prev != ConsentDisagreed || notified {
			c.NotifiedAt = now
			acts = consentNotices(c, c.ChangedAt, st, now, ReasonConsentDisagreed)
		}
		return append(acts, RecordConsent{Consent: c, Reason: ReasonConsentDisagreed})
	case ConsentUnknown, "":
		c.CheckedAt = now
		grace := st.Settings.ConsentGrace
		missing := prev == ConsentUnknown && c.DeletedAt.IsZero() && (c.NotifiedAt.IsZero() || notified) &&
			grace > 0 && !c.AddedAt.IsZero() && now.Sub(c.AddedAt) > grace
		if !missing {
			return []Action{RecordConsent{Consent: c, Reason: ReasonConsentChecked}}
		}
		c.NotifiedAt = now
		acts := consentNotices(c, c.AddedAt, st, now, ReasonConsentMissing)
		return append(acts, RecordConsent{Consent: c, Reason: ReasonConsentMissing})
	}
	return nil
}

// consentNotices tells the employee (consent_employee) and the officers
// (consent_alert) that c's customer refused archiving or has not answered
// since since. Their keys name the pair, the status and since, so that a
// replay sends nothing twice while a later refusal is told again.
func consentNotices(c Consent, since time.Time, st State, now time.Time, reason Reason) []Action {
	s := st.Settings
	key := c.UserID + ":" + c.ExternalUserID + ":" + string(c.Status)
	at := now
	if !since.IsZero() {
		key += ":" + strconv.FormatInt(since.Unix(), 10)
		at = since
	}
	acts := []Action{SendText{
		Key:      "consent-employee:" + key,
		Template: "consent_employee",
		Lang:     personLang(employee(st, c.UserID), s),
		Data: map[string]any{
			"Company": s.Company, "Customer": customerLabel(st, c.ExternalUserID), "Status": string(c.Status),
			"Policy": s.ConsentPolicy, "URL": s.ConsentPolicyURL,
		},
		UserIDs: []string{c.UserID},
		Reason:  reason,
	}}
	if officers := sortedUnique(s.Officers); len(officers) > 0 {
		acts = append(acts, Alert{
			Key:      "consent-alert:" + key,
			UserIDs:  officers,
			Template: "consent_alert",
			Lang:     s.DefaultLanguage,
			Data: map[string]any{
				"Customer": customerLabel(st, c.ExternalUserID),
				"UserID":   c.UserID,
				"UserName": employeeName(st, c.UserID),
				"Status":   string(c.Status),
				"At":       formatMinute(at, s),
			},
			Reason: reason,
		})
	}
	return acts
}

// customerLabel names a customer in texts: "张先生（wmXXXX）" when the
// caller knows the name, else the external id.
func customerLabel(st State, externalUserID string) string {
	if st.CustomerName == "" {
		return externalUserID
	}
	return st.CustomerName + "（" + externalUserID + "）"
}
