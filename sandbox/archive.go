package sandbox

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// Demo lines of the archive's trickle, by who speaks.
var (
	employeeLines = []string{
		"您好，上周提到的基金产品资料已发您邮箱，请查收。",
		"关于合同条款，我们法务明天会回复。",
		"本周五下午三点方便开个短会吗？",
		"报价单已更新，含税价见附件。",
		"Hi, the quarterly report is attached for your review.",
	}
	customerLines = []string{
		"收到，谢谢！",
		"这个产品的风险等级是多少？",
		"周五可以，地址发我一下。",
		"能再优惠一点吗？",
		"Thanks, I'll take a look tonight.",
	}
	colleagueLines = []string{
		"客户那边问风险等级，帮忙确认一下。",
		"合同模板在共享盘的法务目录。",
		"今天的会议纪要我整理好了。",
	}
)

// ArchiveTrickle adds n demo messages to the fake archive at now, between
// the organisation's own people: a permitted member and one of their
// customers (kept once the customer agrees — answer for them on the
// sandbox page — and withheld until then), two permitted colleagues
// (kept), and a group with a customer. rnd picks who speaks and what.
func (o Org) ArchiveTrickle(srv *wecomtest.ArchiveServer, now time.Time, n int, rnd *rand.Rand) ([]string, error) {
	var pairs [][2]string // member, customer
	for _, c := range o.Customers {
		for _, f := range c.Followers {
			if slices.Contains(o.Permit, f.UserID) {
				pairs = append(pairs, [2]string{f.UserID, c.Contact.ExternalUserID})
			}
		}
	}
	if len(o.Permit) < 2 || len(pairs) == 0 {
		return nil, fmt.Errorf("sandbox: archive trickle: the demo organisation has no archived members with customers")
	}
	var ids []string
	for i := range n {
		at := now.Add(time.Duration(i-n) * time.Second)
		msgid := fmt.Sprintf("%d_%d", rnd.Uint64(), at.UnixMilli())
		m := map[string]any{"action": "send", "msgtime": at.UnixMilli(), "msgtype": "text", "roomid": ""}
		switch k := rnd.IntN(10); {
		case k < 6: // a member and their customer
			p := pairs[rnd.IntN(len(pairs))]
			from, to, line := p[0], p[1], employeeLines[rnd.IntN(len(employeeLines))]
			if rnd.IntN(2) == 0 {
				from, to, line = p[1], p[0], customerLines[rnd.IntN(len(customerLines))]
			}
			msgid += "_external"
			m["from"], m["tolist"], m["text"] = from, []string{to}, map[string]string{"content": line}
		case k < 9: // two colleagues
			a := o.Permit[rnd.IntN(len(o.Permit))]
			b := o.Permit[rnd.IntN(len(o.Permit))]
			if a == b {
				b = o.Permit[(slices.Index(o.Permit, a)+1)%len(o.Permit)]
			}
			m["from"], m["tolist"], m["text"] = a, []string{b}, map[string]string{"content": colleagueLines[rnd.IntN(len(colleagueLines))]}
		default: // a customer group
			p := pairs[0]
			msgid += "_external"
			m["roomid"] = "wrSandboxCustomerGroup01"
			m["from"], m["tolist"], m["text"] = p[0], []string{p[1]}, map[string]string{"content": employeeLines[rnd.IntN(len(employeeLines))]}
		}
		m["msgid"] = msgid
		if _, err := srv.Add(m); err != nil {
			return ids, err
		}
		ids = append(ids, msgid)
	}
	return ids, nil
}
