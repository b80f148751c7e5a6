package wecom

import "testing"

// Official sample plaintexts, as printed on the doc pages
// (developer.work.weixin.qq.com/document/path/<id>, read through the
// life-is-blue/wecom-api-docs-mirror copy). Their mix of CDATA and bare
// values, tabs and newlines is kept as printed.
var officialSamples = []struct {
	name, doc, xml string
}{
	{"text", "90239", `<xml>
   <ToUserName><![CDATA[toUser]]></ToUserName>
   <FromUserName><![CDATA[fromUser]]></FromUserName>
   <CreateTime>1348831860</CreateTime>
   <MsgType><![CDATA[text]]></MsgType>
   <Content><![CDATA[this is a test]]></Content>
   <MsgId>1234567890123456</MsgId>
   <AgentID>1</AgentID>
</xml>`},
	{"image", "90239", `<xml>
   <ToUserName><![CDATA[toUser]]></ToUserName>
   <FromUserName><![CDATA[fromUser]]></FromUserName>
   <CreateTime>1348831860</CreateTime>
   <MsgType><![CDATA[image]]></MsgType>
   <PicUrl><![CDATA[this is a url]]></PicUrl>
   <MediaId><![CDATA[media_id]]></MediaId>
   <MsgId>1234567890123456</MsgId>
   <AgentID>1</AgentID>
</xml>`},
	{"voice", "90239", `<xml>
   <ToUserName><![CDATA[toUser]]></ToUserName>
   <FromUserName><![CDATA[fromUser]]></FromUserName>
   <CreateTime>1357290913</CreateTime>
   <MsgType><![CDATA[voice]]></MsgType>
   <MediaId><![CDATA[media_id]]></MediaId>
   <Format><![CDATA[Format]]></Format>
   <MsgId>1234567890123456</MsgId>
   <AgentID>1</AgentID>
</xml>`},
	{"video", "90239", `<xml>
   <ToUserName><![CDATA[toUser]]></ToUserName>
   <FromUserName><![CDATA[fromUser]]></FromUserName>
   <CreateTime>1357290913</CreateTime>
   <MsgType><![CDATA[video]]></MsgType>
   <MediaId><![CDATA[media_id]]></MediaId>
   <ThumbMediaId><![CDATA[thumb_media_id]]></ThumbMediaId>
   <MsgId>1234567890123456</MsgId>
   <AgentID>1</AgentID>
</xml>`},
	{"location", "90239", `<xml>
   <ToUserName><![CDATA[toUser]]></ToUserName>
   <FromUserName><![CDATA[fromUser]]></FromUserName>
   <CreateTime>1351776360</CreateTime>
   <MsgType><![CDATA[location]]></MsgType>
   <Location_X>23.134</Location_X>
   <Location_Y>113.358</Location_Y>
   <Scale>20</Scale>
   <Label><![CDATA[位置信息]]></Label>
   <MsgId>1234567890123456</MsgId>
   <AgentID>1</AgentID>
   <AppType><![CDATA[wxwork]]></AppType>
</xml>`},
	{"link", "90239", `<xml>
   <ToUserName><![CDATA[toUser]]></ToUserName>
   <FromUserName><![CDATA[fromUser]]></FromUserName>
   <CreateTime>1348831860</CreateTime>
   <MsgType><![CDATA[link]]></MsgType>
   <Title><![CDATA[this is a title！]]></Title>
   <Description><![CDATA[this is a description！]]></Description>
   <Url><![CDATA[URL]]></Url>
   <PicUrl><![CDATA[this is a url]]></PicUrl>
   <MsgId>1234567890123456</MsgId>
   <AgentID>1</AgentID>
</xml>`},
	{"subscribe", "90240", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[UserID]]></FromUserName>\n\t<CreateTime>1348831860</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[subscribe]]></Event>\n\t<AgentID>1</AgentID>\n</xml>"},
	{"enter_agent", "90240", `<xml><ToUserName><![CDATA[toUser]]></ToUserName>
<FromUserName><![CDATA[FromUser]]></FromUserName>
<CreateTime>1408091189</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[enter_agent]]></Event>
<EventKey><![CDATA[]]></EventKey>
<AgentID>1</AgentID>
</xml>`},
	{"LOCATION", "90240", `<xml>
   <ToUserName><![CDATA[toUser]]></ToUserName>
   <FromUserName><![CDATA[FromUser]]></FromUserName>
   <CreateTime>123456789</CreateTime>
   <MsgType><![CDATA[event]]></MsgType>
   <Event><![CDATA[LOCATION]]></Event>
   <Latitude>23.104</Latitude>
   <Longitude>113.320</Longitude>
   <Precision>65.000</Precision>
   <AgentID>1</AgentID>
   <AppType><![CDATA[wxwork]]></AppType>
</xml>`},
	{"batch_job_result", "90240", `<xml><ToUserName><![CDATA[wwddddccc7775555aaa]]></ToUserName>
<FromUserName><![CDATA[FromUser]]></FromUserName>
<CreateTime>1425284517</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[batch_job_result]]></Event>
<BatchJob><JobId><![CDATA[S0MrnndvRG5fadSlLwiBqiDDbM143UqTmKP3152FZk4]]></JobId>
<JobType><![CDATA[sync_user]]></JobType>
<ErrCode>0</ErrCode>
<ErrMsg><![CDATA[ok]]></ErrMsg>
</BatchJob>
</xml>`},
	{"click", "90240", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[FromUser]]></FromUserName>\n\t<CreateTime>123456789</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[click]]></Event>\n\t<EventKey><![CDATA[EVENTKEY]]></EventKey>\n\t<AgentID>1</AgentID>\n</xml>"},
	{"view", "90240", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[FromUser]]></FromUserName>\n\t<CreateTime>123456789</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[view]]></Event>\n\t<EventKey><![CDATA[www.qq.com]]></EventKey>\n\t<AgentID>1</AgentID>\n</xml>"},
	{"view_miniprogram", "90240", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[FromUser]]></FromUserName>\n\t<CreateTime>123456789</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[view_miniprogram]]></Event>\n\t<EventKey><![CDATA[index]]></EventKey>\n\t<AgentID>1</AgentID>\n</xml>"},
	{"scancode_push", "90240", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[FromUser]]></FromUserName>\n\t<CreateTime>1408090502</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[scancode_push]]></Event>\n\t<EventKey><![CDATA[6]]></EventKey>\n\t<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>\n\t<ScanResult><![CDATA[1]]></ScanResult>\n\t</ScanCodeInfo>\n\t<AgentID>1</AgentID>\n</xml>"},
	{"scancode_waitmsg", "90240", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[FromUser]]></FromUserName>\n\t<CreateTime>1408090606</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[scancode_waitmsg]]></Event>\n\t<EventKey><![CDATA[6]]></EventKey>\n\t<ScanCodeInfo><ScanType><![CDATA[qrcode]]></ScanType>\n\t<ScanResult><![CDATA[2]]></ScanResult>\n\t</ScanCodeInfo>\n\t<AgentID>1</AgentID>\n</xml>"},
	{"pic_sysphoto", "90240", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[FromUser]]></FromUserName>\n\t<CreateTime>1408090651</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[pic_sysphoto]]></Event>\n\t<EventKey><![CDATA[6]]></EventKey>\n\t<SendPicsInfo><Count>1</Count>\n\t<PicList><item><PicMd5Sum><![CDATA[1b5f7c23b5bf75682a53e7b6d163e185]]></PicMd5Sum>\n\t</item>\n\t</PicList>\n\t</SendPicsInfo>\n\t<AgentID>1</AgentID>\n</xml>"},
	{"pic_photo_or_album", "90240", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[FromUser]]></FromUserName>\n\t<CreateTime>1408090816</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[pic_photo_or_album]]></Event>\n\t<EventKey><![CDATA[6]]></EventKey>\n\t<SendPicsInfo><Count>1</Count>\n\t<PicList><item><PicMd5Sum><![CDATA[5a75aaca956d97be686719218f275c6b]]></PicMd5Sum>\n\t</item>\n\t</PicList>\n\t</SendPicsInfo>\n\t<AgentID>1</AgentID>\n</xml>"},
	{"pic_weixin", "90240", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[FromUser]]></FromUserName>\n\t<CreateTime>1408090816</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[pic_weixin]]></Event>\n\t<EventKey><![CDATA[6]]></EventKey>\n\t<SendPicsInfo><Count>1</Count>\n\t<PicList><item><PicMd5Sum><![CDATA[5a75aaca956d97be686719218f275c6b]]></PicMd5Sum>\n\t</item>\n\t</PicList>\n\t</SendPicsInfo>\n\t<AgentID>1</AgentID>\n</xml>"},
	{"location_select", "90240", `<xml><ToUserName><![CDATA[toUser]]></ToUserName>
<FromUserName><![CDATA[FromUser]]></FromUserName>
<CreateTime>1408091189</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[location_select]]></Event>
<EventKey><![CDATA[6]]></EventKey>
<SendLocationInfo><Location_X><![CDATA[23]]></Location_X>
<Location_Y><![CDATA[113]]></Location_Y>
<Scale><![CDATA[15]]></Scale>
<Label><![CDATA[ 广州市海珠区客村艺苑路 106号]]></Label>
<Poiname><![CDATA[]]></Poiname>
</SendLocationInfo>
<AgentID>1</AgentID>
<AppType><![CDATA[wxwork]]></AppType>
</xml>`},
	{"template_card_event", "90240", `<xml>
<ToUserName><![CDATA[toUser]]></ToUserName>
<FromUserName><![CDATA[FromUser]]></FromUserName>
<CreateTime>123456789</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[template_card_event]]></Event>
<EventKey><![CDATA[key111]]></EventKey>
<TaskId><![CDATA[taskid111]]></TaskId>
<CardType><![CDATA[text_notice]]></CardType>
<ResponseCode><![CDATA[ResponseCode]]></ResponseCode>
<AgentID>1</AgentID>
<SelectedItems>
    <SelectedItem>
        <QuestionKey><![CDATA[QuestionKey1]]></QuestionKey>
        <OptionIds>
            <OptionId><![CDATA[OptionId1]]></OptionId>
            <OptionId><![CDATA[OptionId2]]></OptionId>
        </OptionIds>
    </SelectedItem>
    <SelectedItem>
        <QuestionKey><![CDATA[QuestionKey2]]></QuestionKey>
        <OptionIds>
            <OptionId><![CDATA[OptionId3]]></OptionId>
            <OptionId><![CDATA[OptionId4]]></OptionId>
        </OptionIds>
    </SelectedItem>
</SelectedItems>
</xml>`},
	{"template_card_menu_event", "90240", `<xml>
<ToUserName><![CDATA[toUser]]></ToUserName>
<FromUserName><![CDATA[FromUser]]></FromUserName>
<CreateTime>123456789</CreateTime>
<MsgType><![CDATA[event]]></MsgType>
<Event><![CDATA[template_card_menu_event]]></Event>
<EventKey><![CDATA[key111]]></EventKey>
<TaskId><![CDATA[taskid111]]></TaskId>
<CardType><![CDATA[text_notice]]></CardType>
<ResponseCode><![CDATA[ResponseCode]]></ResponseCode>
<AgentID>1</AgentID>
</xml>`},
	{"msgaudit_notify", "95039", `<xml>
   <ToUserName><![CDATA[CorpID]]></ToUserName>
   <FromUserName><![CDATA[sys]]></FromUserName>
   <CreateTime>1629101687</CreateTime>
   <MsgType><![CDATA[event]]></MsgType>
   <AgentID>2000004</AgentID>
   <Event><![CDATA[msgaudit_notify]]></Event>
</xml>`},
	{"change_contact.create_user", "90970", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_contact]]></Event>\n\t<ChangeType>create_user</ChangeType>\n\t<UserID><![CDATA[zhangsan]]></UserID>\n\t<Name><![CDATA[张三]]></Name>\n\t<Department><![CDATA[1,2,3]]></Department>\n\t<MainDepartment>1</MainDepartment>\n\t<IsLeaderInDept><![CDATA[1,0,0]]></IsLeaderInDept>\n\t<DirectLeader><![CDATA[lisi,wangwu]]></DirectLeader>\n\t<Position><![CDATA[产品经理]]></Position>\n\t<Mobile>13800000000</Mobile>\n\t<Gender>1</Gender>\n\t<Email><![CDATA[zhangsan@gzdev.com]]></Email>\n\t<BizMail><![CDATA[zhangsan@qyycs2.wecom.work]]></BizMail>\n\t<Status>1</Status>\n\t<Avatar><![CDATA[http://wx.qlogo.cn/mmopen/ajNVdqHZLLA3WJ6DSZUfiakYe37PKnQhBIeOQBO4czqrnZDS79FH5Wm5m4X69TBicnHFlhiafvDwklOpZeXYQQ2icg/0]]></Avatar>\n\t<Alias><![CDATA[zhangsan]]></Alias>\n\t<Telephone><![CDATA[020-123456]]></Telephone>\n\t<Address><![CDATA[广州市]]></Address>\n\t<ExtAttr>\n\t\t<Item>\n\t\t<Name><![CDATA[爱好]]></Name>\n\t\t<Type>0</Type>\n\t\t<Text>\n\t\t\t<Value><![CDATA[旅游]]></Value>\n\t\t</Text>\n\t\t</Item>\n\t\t<Item>\n\t\t<Name><![CDATA[卡号]]></Name>\n\t\t<Type>1</Type>\n\t\t<Web>\n\t\t\t<Title><![CDATA[企业微信]]></Title>\n\t\t\t<Url><![CDATA[https://work.weixin.qq.com]]></Url>\n\t\t</Web>\n\t\t</Item>\n\t</ExtAttr>\n</xml>"},
	{"change_contact.update_user", "90970", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_contact]]></Event>\n\t<ChangeType>update_user</ChangeType>\n\t<UserID><![CDATA[zhangsan]]></UserID>\n\t<NewUserID><![CDATA[zhangsan001]]></NewUserID>\n\t<Name><![CDATA[张三]]></Name>\n\t<Department><![CDATA[1,2,3]]></Department>\n\t<MainDepartment>1</MainDepartment>\n\t<IsLeaderInDept><![CDATA[1,0,0]]></IsLeaderInDept>\n\t<Position><![CDATA[产品经理]]></Position>\n\t<Mobile>13800000000</Mobile>\n\t<Gender>1</Gender>\n\t<Email><![CDATA[zhangsan@gzdev.com]]></Email>\n\t<Status>1</Status>\n\t<Avatar><![CDATA[http://wx.qlogo.cn/mmopen/ajNVdqHZLLA3WJ6DSZUfiakYe37PKnQhBIeOQBO4czqrnZDS79FH5Wm5m4X69TBicnHFlhiafvDwklOpZeXYQQ2icg/0]]></Avatar>\n\t<Alias><![CDATA[zhangsan]]></Alias>\n\t<Telephone><![CDATA[020-123456]]></Telephone>\n\t<Address><![CDATA[广州市]]></Address>\n\t<ExtAttr>\n\t\t<Item>\n\t\t<Name><![CDATA[爱好]]></Name>\n\t\t<Type>0</Type>\n\t\t<Text>\n\t\t\t<Value><![CDATA[旅游]]></Value>\n\t\t</Text>\n\t\t</Item>\n\t\t<Item>\n\t\t<Name><![CDATA[卡号]]></Name>\n\t\t<Type>1</Type>\n\t\t<Web>\n\t\t\t<Title><![CDATA[企业微信]]></Title>\n\t\t\t<Url><![CDATA[https://work.weixin.qq.com]]></Url>\n\t\t</Web>\n\t\t</Item>\n\t</ExtAttr>\n</xml>"},
	{"change_contact.delete_user", "90970", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_contact]]></Event>\n\t<ChangeType>delete_user</ChangeType>\n\t<UserID><![CDATA[zhangsan]]></UserID>\n</xml>"},
	{"change_contact.create_party", "90971", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_contact]]></Event>\n\t<ChangeType>create_party</ChangeType>\n\t<Id>2</Id>\n\t<Name><![CDATA[张三]]></Name>\n\t<ParentId><![CDATA[1]]></ParentId>\n\t<Order>1</Order>\n</xml>"},
	{"change_contact.create_party (90240: bare ParentId)", "90240", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_contact]]></Event>\n\t<ChangeType>create_party</ChangeType>\n\t<Id>2</Id>\n\t<Name><![CDATA[张三]]></Name>\n\t<ParentId>1</ParentId>\n\t<Order>1</Order>\n</xml>"},
	{"change_contact.update_party", "90971", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_contact]]></Event>\n\t<ChangeType>update_party</ChangeType>\n\t<Id>2</Id>\n\t<Name><![CDATA[张三]]></Name>\n\t<ParentId><![CDATA[1]]></ParentId>\n</xml>"},
	{"change_contact.delete_party", "90971", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_contact]]></Event>\n\t<ChangeType>delete_party</ChangeType>\n\t<Id>2</Id>\n</xml>"},
	{"change_contact.update_tag", "90972", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_contact]]></Event>\n\t<ChangeType><![CDATA[update_tag]]></ChangeType>\n\t<TagId>1</TagId>\n\t<AddUserItems><![CDATA[zhangsan,lisi]]></AddUserItems>\n\t<DelUserItems><![CDATA[zhangsan1,lisi1]]></DelUserItems>\n\t<AddPartyItems><![CDATA[1,2]]></AddPartyItems>\n\t<DelPartyItems><![CDATA[3,4]]></DelPartyItems>\n</xml>"},
	{"change_external_contact.add_external_contact", "92130", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_external_contact]]></Event>\n\t<ChangeType><![CDATA[add_external_contact]]></ChangeType>\n\t<UserID><![CDATA[zhangsan]]></UserID>\n\t<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mAAAA]]></ExternalUserID>\n\t<State><![CDATA[teststate]]></State>\n\t<WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>\n</xml>"},
	{"change_external_contact.edit_external_contact", "92130", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_external_contact]]></Event>\n\t<ChangeType><![CDATA[edit_external_contact]]></ChangeType>\n\t<UserID><![CDATA[zhangsan]]></UserID>\n\t<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mAAAA]]></ExternalUserID>\n</xml>"},
	{"change_external_contact.add_half_external_contact", "92130", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_external_contact]]></Event>\n\t<ChangeType><![CDATA[add_half_external_contact]]></ChangeType>\n\t<UserID><![CDATA[zhangsan]]></UserID>\n\t<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA]]></ExternalUserID>\n\t<State><![CDATA[teststate]]></State>\n\t<WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>\n</xml>"},
	{"change_external_contact.del_external_contact", "92130", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_external_contact]]></Event>\n\t<ChangeType><![CDATA[del_external_contact]]></ChangeType>\n\t<UserID><![CDATA[zhangsan]]></UserID>\n\t<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACAAAA]]></ExternalUserID>\n\t<Source><![CDATA[DELETE_BY_TRANSFER]]></Source>\n</xml>"},
	{"change_external_contact.del_follow_user", "92130", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_external_contact]]></Event>\n\t<ChangeType><![CDATA[del_follow_user]]></ChangeType>\n\t<UserID><![CDATA[zhangsan]]></UserID>\n\t<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mACHAAA]]></ExternalUserID>\n</xml>"},
	{"change_external_contact.transfer_fail", "92130", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_external_contact]]></Event>\n\t<ChangeType><![CDATA[transfer_fail]]></ChangeType>\n\t<FailReason><![CDATA[customer_refused]]></FailReason>\n\t<UserID><![CDATA[zhangsan]]></UserID>\n\t<ExternalUserID><![CDATA[woAJ2GCAAAXtWyujaWJHDDGi0mAAAA]]></ExternalUserID>\n</xml>"},
	{"change_external_contact.msg_audit_approved", "92005", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_external_contact]]></Event>\n\t<ChangeType><![CDATA[msg_audit_approved]]></ChangeType>\n\t<UserID><![CDATA[zhangsan]]></UserID>\n\t<ExternalUserID><![CDATA[woAJ2GCAAABiuyujaWJHDDGi0mACHAAA]]></ExternalUserID>\n\t<WelcomeCode><![CDATA[WELCOMECODE]]></WelcomeCode>\n</xml>"},
	{"change_external_chat.create", "92130", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_external_chat]]></Event>\n\t<ChatId><![CDATA[CHAT_ID]]></ChatId>\n\t<ChangeType><![CDATA[create]]></ChangeType>\n</xml>"},
	{"change_external_chat.update", "92130", "<xml>\n\t<ToUserName><![CDATA[ww55ca070cb9b7eb22]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_external_chat]]></Event>\n\t<ChatId><![CDATA[wrx7HUARsKwGRaQBVKPBTcEyzdHA4HrQ]]></ChatId>\n\t<ChangeType><![CDATA[update]]></ChangeType>\n\t<UpdateDetail><![CDATA[add_member]]></UpdateDetail>\n\t<JoinScene>1</JoinScene>\n\t<QuitScene>0</QuitScene>\n\t<MemChangeCnt>10</MemChangeCnt>\n\t<MemChangeList>\n\t\t<Item>Jack</Item>\n\t\t<Item>Rose</Item>\n\t</MemChangeList>\n\t<LastMemVer>9c3f97c2ada667dfb5f6d03308d963e1</LastMemVer>\n\t<CurMemVer>71217227bbd112ecfe3a49c482195cb4</CurMemVer>\n</xml>"},
	{"change_external_chat.dismiss", "92130", "<xml>\n\t<ToUserName><![CDATA[toUser]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_external_chat]]></Event>\n\t<ChatId><![CDATA[CHAT_ID]]></ChatId>\n\t<ChangeType><![CDATA[dismiss]]></ChangeType>\n</xml>"},
	{"change_external_tag.create", "92130", "<xml>\n\t<ToUserName><![CDATA[CORPID]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_external_tag]]></Event>\n\t<Id><![CDATA[TAG_ID]]></Id>\n\t<TagType><![CDATA[tag]]></TagType>\n\t<ChangeType><![CDATA[create]]></ChangeType>\n\t<StrategyId>1</StrategyId>\n</xml>"},
	{"change_external_tag.update", "92130", "<xml>\n\t<ToUserName><![CDATA[CORPID]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_external_tag]]></Event>\n\t<Id><![CDATA[TAG_ID]]></Id>\n\t<TagType><![CDATA[tag]]></TagType>\n\t<ChangeType><![CDATA[update]]></ChangeType>\n\t<StrategyId>1</StrategyId>\n</xml>"},
	{"change_external_tag.delete", "92130", "<xml>\n\t<ToUserName><![CDATA[CORPID]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_external_tag]]></Event>\n\t<Id><![CDATA[TAG_ID]]></Id>\n\t<TagType><![CDATA[tag]]></TagType>\n\t<ChangeType><![CDATA[delete]]></ChangeType>\n\t<StrategyId>1</StrategyId>\n</xml>"},
	{"change_external_tag.shuffle", "92130", "<xml>\n\t<ToUserName><![CDATA[CORPID]]></ToUserName>\n\t<FromUserName><![CDATA[sys]]></FromUserName>\n\t<CreateTime>1403610513</CreateTime>\n\t<MsgType><![CDATA[event]]></MsgType>\n\t<Event><![CDATA[change_external_tag]]></Event>\n\t<Id><![CDATA[TAG_ID]]></Id>\n\t<StrategyId><![CDATA[STRATEGY_ID]]></StrategyId>\n\t<ChangeType><![CDATA[shuffle]]></ChangeType>\n</xml>"},
}

// sample returns the official sample of that name.
func sample(t testing.TB, name string) string {
	t.Helper()
	for _, s := range officialSamples {
		if s.name == name {
			return s.xml
		}
	}
	t.Fatalf("no sample %q", name)
	return ""
}
