package rules

// t2s maps traditional characters to simplified ones, one rune to one
// rune, for folding. It is a small table of the characters common in
// business chat and in compliance terms (returns, transfers, contact
// details, inside information), not a full converter: phrase-level
// converters change lengths and lose the offsets that hits must keep.
// Terms and text are folded alike, so a character missing here only
// means its traditional form is matched as written.
//
// t2s is indexed by rune - cjkFirst over the CJK ideographs (every
// character of the table is one); 0 means the rune maps to itself.
var t2s = func() *[cjkLast - cjkFirst]rune {
	trad := []rune(t2sTraditional)
	simp := []rune(t2sSimplified)
	if len(trad) != len(simp) {
		panic("rules: t2s tables differ in length")
	}
	var m [cjkLast - cjkFirst]rune
	for i, t := range trad {
		if t < cjkFirst || t >= cjkLast {
			panic("rules: t2s has a character outside the CJK ideographs")
		}
		m[t-cjkFirst] = simp[i]
	}
	return &m
}()

// The CJK ideographs (extension A and the unified block): no case.
const (
	cjkFirst = 0x3400
	cjkLast  = 0xA000
)

// The two strings pair up rune by rune (t2s_test.go checks them).
const (
	t2sTraditional = "與專業東絲兩嚴個豐臨為麗舉義烏樂喬習鄉書買亂爭於虧雲亞產畝親億僅從倉儀們價眾優會傘偉傳傷倫偽體餘傭俠侶偵側僑儉債傾償儲兒兌黨蘭關興養獸內岡冊寫軍農馮決況凍淨涼減湊幾鳳憑凱擊劃劉則剛創刪別劑劍剝劇勸辦務動勵勁勞勢勳勻區醫華協單賣盧衛卻廠廳歷厲壓厭縣參雙發變敘疊號嘆嚇呂嗎噸聽啟吳員響問啞喚團園圍圖國圓聖場壞塊堅壇壩墳墜壘墊報執壺處備復夠頭夾奪奮獎婦媽嬌孫學寶實寵審憲將對尋導屍層屬歲島幣帥師帳帶幫廣莊慶庫應廢開異棄張彈強歸當錄徹徑憶誌憂懷態總戀惡驚懼慘慣擔戰戲戶撲擴掃揚擾撫搶護擬擁擇掛擋揮損換據擠攜攝擺搖數斷無時曠暢顯晝曉暫術機殺雜權條來楊極構槍標棧樣橋檢樓歡歐殘氣漢湯溝沒灣滅災滬淚潑澤潔濃測濟渾濤漲淺滿濾灑點煉爐爛燒熱營愛牽狀獨獄獲環現瑪畫畢療盜盡監盤睜礦碼確禮禍離種積稱穩窮競筆築簽節範類糧緊紅約級紀純紙納組細終經結給絕統繼績維網線練編緣聯職聲腦臉膽艦艱藝蘇蘋薦藥萬蟲衝補裝覺覽觀規視計認討讓訓議記講許論設訪證評識詞試詩話誠該詳說語誤請諸讀課誰調談謀謝謠謹譜負貢財責賢敗貨質販貪貧購貫貴費貿資賊賄賬賠賞賜賦贈贊贏趕趙躍軟較載輕輸轉輪辭邊遼達遷過運還這進遠違連遲適選遺鄧鄭醬釋裡鑒針錢鐵鈴鉛銀銷鋒鎖錯鍵鍛鎮鏡長門閃閉閒間閱闊隊陽陰陣階際陸隨險隱難雞電霧靜靈韓頁頂項順須預領頻題額顏願風飛飯飲館饑馬駕騙驗髮鬥魚鮮鳥鳴鴻麥黃齊齒龍龜穫詐謊貸賺贖匯紐繫係訊鏈郵絡遞洩詢顧麼號"
	t2sSimplified  = "与专业东丝两严个丰临为丽举义乌乐乔习乡书买乱争于亏云亚产亩亲亿仅从仓仪们价众优会伞伟传伤伦伪体余佣侠侣侦侧侨俭债倾偿储儿兑党兰关兴养兽内冈册写军农冯决况冻净凉减凑几凤凭凯击划刘则刚创删别剂剑剥剧劝办务动励劲劳势勋匀区医华协单卖卢卫却厂厅历厉压厌县参双发变叙叠号叹吓吕吗吨听启吴员响问哑唤团园围图国圆圣场坏块坚坛坝坟坠垒垫报执壶处备复够头夹夺奋奖妇妈娇孙学宝实宠审宪将对寻导尸层属岁岛币帅师帐带帮广庄庆库应废开异弃张弹强归当录彻径忆志忧怀态总恋恶惊惧惨惯担战戏户扑扩扫扬扰抚抢护拟拥择挂挡挥损换据挤携摄摆摇数断无时旷畅显昼晓暂术机杀杂权条来杨极构枪标栈样桥检楼欢欧残气汉汤沟没湾灭灾沪泪泼泽洁浓测济浑涛涨浅满滤洒点炼炉烂烧热营爱牵状独狱获环现玛画毕疗盗尽监盘睁矿码确礼祸离种积称稳穷竞笔筑签节范类粮紧红约级纪纯纸纳组细终经结给绝统继绩维网线练编缘联职声脑脸胆舰艰艺苏苹荐药万虫冲补装觉览观规视计认讨让训议记讲许论设访证评识词试诗话诚该详说语误请诸读课谁调谈谋谢谣谨谱负贡财责贤败货质贩贪贫购贯贵费贸资贼贿账赔赏赐赋赠赞赢赶赵跃软较载轻输转轮辞边辽达迁过运还这进远违连迟适选遗邓郑酱释里鉴针钱铁铃铅银销锋锁错键锻镇镜长门闪闭闲间阅阔队阳阴阵阶际陆随险隐难鸡电雾静灵韩页顶项顺须预领频题额颜愿风飞饭饮馆饥马驾骗验发斗鱼鲜鸟鸣鸿麦黄齐齿龙龟获诈谎贷赚赎汇纽系系讯链邮络递泄询顾么号"
)
