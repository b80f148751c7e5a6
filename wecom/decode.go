package wecom

import (
	"encoding/hex"
	"fmt"
	"strconv"
)

// Decode decodes a decrypted callback plaintext into its typed Event.
// The plaintext is XML, or JSON when its first non-space byte is '{' (the
// JSON object is read as the equivalent XML tree: members as elements,
// nested objects as nested elements, arrays as repeated elements, numbers
// digit-exact). Values are trimmed of surrounding white space, CDATA or
// not.
//
// Decode fails, with an error wrapping ErrDecode, only when the input is
// not well-formed, the root is not <xml>, MsgType is missing, or a typed
// field has a bad value (CreateTime, SendPicsInfo/Count or MemChangeCnt
// not an integer). An unknown MsgType, Event or ChangeType decodes to a
// *RawEvent. The error never quotes the plaintext.
func Decode(plaintext []byte) (Event, error) {
	b := trimBOM(plaintext)
	var (
		root *node
		err  error
	)
	if first(b) == '{' {
		root, err = parseJSONTree(b)
	} else {
		root, err = parseXMLTree(b)
		if err == nil && root.name != "xml" {
			err = fmt.Errorf("root element is not <xml>")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("wecom: decode: %w: %v", ErrDecode, err)
	}
	h := Header{
		ToUserName:   root.str("ToUserName"),
		FromUserName: root.str("FromUserName"),
		MsgType:      root.str("MsgType"),
		Event:        root.str("Event"),
		ChangeType:   root.str("ChangeType"),
		AgentID:      root.str("AgentID"),
	}
	if h.MsgType == "" {
		return nil, fmt.Errorf("wecom: decode: %w: MsgType is missing", ErrDecode)
	}
	if h.CreateTime, err = intField(root, "CreateTime"); err != nil {
		return nil, err
	}
	kind := h.Kind()
	ev, err := decodeKind(kind, root, h, plaintext)
	if err != nil {
		return nil, err
	}
	head := ev.Head()
	if id := root.str("MsgId"); h.MsgType != "event" && id != "" {
		head.dedupKey = "msg:" + id
	} else {
		sum := canonicalDigest(root)
		var buf [128]byte // one string built from a stack buffer
		k := append(buf[:0], kind...)
		k = append(k, ':')
		k = strconv.AppendInt(k, h.CreateTime, 10)
		k = append(k, ':')
		k = hex.AppendEncode(k, sum[:16])
		head.dedupKey = string(k)
	}
	return ev, nil
}

// intField parses an integer child element; absent or empty is 0.
func intField(n *node, name string) (int64, error) {
	s := n.str(name)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("wecom: decode: %w: %s is not an integer", ErrDecode, name)
	}
	return v, nil
}

// intFieldInt is intField for values that must fit an int.
func intFieldInt(n *node, name string) (int, error) {
	v, err := intField(n, name)
	if err != nil {
		return 0, err
	}
	if int64(int(v)) != v {
		return 0, fmt.Errorf("wecom: decode: %w: %s is out of range", ErrDecode, name)
	}
	return int(v), nil
}

// decodeKind builds the typed event of a kind.
func decodeKind(kind string, r *node, h Header, plaintext []byte) (Event, error) {
	switch kind {
	case "text":
		return &TextMessage{Header: h, MsgID: r.str("MsgId"), Content: r.str("Content")}, nil
	case "image":
		return &ImageMessage{Header: h, MsgID: r.str("MsgId"), PicURL: r.str("PicUrl"), MediaID: r.str("MediaId")}, nil
	case "voice":
		return &VoiceMessage{Header: h, MsgID: r.str("MsgId"), MediaID: r.str("MediaId"), Format: r.str("Format")}, nil
	case "video":
		return &VideoMessage{Header: h, MsgID: r.str("MsgId"), MediaID: r.str("MediaId"), ThumbMediaID: r.str("ThumbMediaId")}, nil
	case "location":
		return &LocationMessage{Header: h, MsgID: r.str("MsgId"), LocationX: r.str("Location_X"), LocationY: r.str("Location_Y"),
			Scale: r.str("Scale"), Label: r.str("Label"), AppType: r.str("AppType")}, nil
	case "link":
		return &LinkMessage{Header: h, MsgID: r.str("MsgId"), Title: r.str("Title"), Description: r.str("Description"),
			URL: r.str("Url"), PicURL: r.str("PicUrl")}, nil

	case "enter_agent":
		return &EnterAgent{Header: h, EventKey: r.str("EventKey")}, nil
	case "click", "view", "view_miniprogram", "scancode_push", "scancode_waitmsg",
		"pic_sysphoto", "pic_photo_or_album", "pic_weixin", "location_select":
		return decodeMenu(r, h)
	case "template_card_event", "template_card_menu_event":
		e := &TemplateCardEvent{Header: h, EventKey: r.str("EventKey"), TaskID: r.str("TaskId"),
			CardType: r.str("CardType"), ResponseCode: r.str("ResponseCode")}
		for _, it := range r.child("SelectedItems").all("SelectedItem") {
			e.SelectedItems = append(e.SelectedItems, SelectedItem{
				QuestionKey: it.str("QuestionKey"),
				OptionIDs:   it.child("OptionIds").strs("OptionId"),
			})
		}
		return e, nil
	case "msgaudit_notify":
		return &MsgAuditNotify{Header: h}, nil

	case "change_contact.create_user", "change_contact.update_user", "change_contact.delete_user":
		return decodeUser(r, h), nil
	case "change_contact.create_party", "change_contact.update_party", "change_contact.delete_party":
		return &PartyChange{Header: h, ID: r.str("Id"), Name: r.ptr("Name"), ParentID: r.ptr("ParentId"), Order: r.ptr("Order")}, nil
	case "change_contact.update_tag":
		return &TagChange{Header: h, TagID: r.str("TagId"), AddUserItems: r.str("AddUserItems"), DelUserItems: r.str("DelUserItems"),
			AddPartyItems: r.str("AddPartyItems"), DelPartyItems: r.str("DelPartyItems")}, nil

	case "change_external_contact.add_external_contact", "change_external_contact.edit_external_contact",
		"change_external_contact.add_half_external_contact", "change_external_contact.del_external_contact",
		"change_external_contact.del_follow_user", "change_external_contact.transfer_fail",
		"change_external_contact.msg_audit_approved":
		return &ExternalContactChange{Header: h, UserID: r.str("UserID"), ExternalUserID: r.str("ExternalUserID"),
			State: r.str("State"), WelcomeCode: r.str("WelcomeCode"), Source: r.str("Source"), FailReason: r.str("FailReason")}, nil

	case "change_external_chat.create", "change_external_chat.update", "change_external_chat.dismiss":
		cnt, err := intFieldInt(r, "MemChangeCnt")
		if err != nil {
			return nil, err
		}
		return &ExternalChatChange{Header: h, ChatID: r.str("ChatId"), UpdateDetail: r.str("UpdateDetail"),
			JoinScene: r.str("JoinScene"), QuitScene: r.str("QuitScene"), MemChangeCnt: cnt,
			MemChangeList: r.child("MemChangeList").strs("Item"), LastMemVer: r.str("LastMemVer"), CurMemVer: r.str("CurMemVer")}, nil

	case "change_external_tag.create", "change_external_tag.update", "change_external_tag.delete", "change_external_tag.shuffle":
		return &ExternalTagChange{Header: h, ID: r.str("Id"), TagType: r.str("TagType"), StrategyID: r.str("StrategyId")}, nil
	}
	return &RawEvent{Header: h, Plaintext: append([]byte(nil), plaintext...)}, nil
}

func decodeMenu(r *node, h Header) (Event, error) {
	e := &MenuEvent{Header: h, EventKey: r.str("EventKey"), AppType: r.str("AppType")}
	if sc := r.child("ScanCodeInfo"); sc != nil {
		e.ScanCodeInfo = ScanCodeInfo{ScanType: sc.str("ScanType"), ScanResult: sc.str("ScanResult")}
	}
	if sp := r.child("SendPicsInfo"); sp != nil {
		n, err := intFieldInt(sp, "Count")
		if err != nil {
			return nil, err
		}
		e.SendPicsInfo.Count = n
		for _, it := range sp.child("PicList").all("item") {
			e.SendPicsInfo.PicList = append(e.SendPicsInfo.PicList, it.str("PicMd5Sum"))
		}
	}
	if sl := r.child("SendLocationInfo"); sl != nil {
		e.SendLocationInfo = SendLocationInfo{LocationX: sl.str("Location_X"), LocationY: sl.str("Location_Y"),
			Scale: sl.str("Scale"), Label: sl.str("Label"), Poiname: sl.str("Poiname")}
	}
	return e, nil
}

func decodeUser(r *node, h Header) *UserChange {
	e := &UserChange{
		Header:         h,
		UserID:         r.str("UserID"),
		NewUserID:      r.str("NewUserID"),
		Name:           r.ptr("Name"),
		Department:     r.ptr("Department"),
		MainDepartment: r.ptr("MainDepartment"),
		IsLeaderInDept: r.ptr("IsLeaderInDept"),
		DirectLeader:   r.ptr("DirectLeader"),
		Position:       r.ptr("Position"),
		Mobile:         r.ptr("Mobile"),
		Gender:         r.ptr("Gender"),
		Email:          r.ptr("Email"),
		BizMail:        r.ptr("BizMail"),
		Status:         r.ptr("Status"),
		Avatar:         r.ptr("Avatar"),
		Alias:          r.ptr("Alias"),
		Telephone:      r.ptr("Telephone"),
		Address:        r.ptr("Address"),
	}
	if ea := r.child("ExtAttr"); ea != nil {
		e.ExtAttr = &ExtAttr{}
		for _, it := range ea.all("Item") {
			e.ExtAttr.Items = append(e.ExtAttr.Items, ExtAttrItem{
				Name:      it.str("Name"),
				Type:      it.str("Type"),
				TextValue: it.child("Text").str("Value"),
				WebTitle:  it.child("Web").str("Title"),
				WebURL:    it.child("Web").str("Url"),
			})
		}
	}
	return e
}
