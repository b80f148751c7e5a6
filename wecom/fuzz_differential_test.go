package wecom

import (
	"reflect"
	"strings"
	"testing"
)

// trickyXML are inputs at the edges of scanTree's subset: some it reads,
// some it leaves to encoding/xml. Seeds of the differential fuzz targets.
var trickyXML = []string{
	"<xml><A>a<![CDATA[b]]> c </A></xml>",
	"<xml><A> x <B/> y </A></xml>",
	"<xml><A>x<B>1</B>  <C>2</C>y</A></xml>",
	"<xml><A>\u00a0<B/>\u00a0</A></xml>",
	"<xml><A>&lt;&gt;&amp;&apos;&quot;</A></xml>",
	"<xml><A>&#60;&#x3c;&#0;</A></xml>",
	"<xml><A>&bogus;</A></xml>",
	"<xml><A>&amp</A></xml>",
	"<xml><A>]]></A></xml>",
	"<xml><A>]&amp;]></A></xml>",
	"<xml><A>a\r\nb\rc</A></xml>",
	"<xml><A><![CDATA[a\r\nb]]></A></xml>",
	"<xml><A x=\"1\">v</A></xml>",
	"<xml><a:A>v</a:A></xml>",
	"<xml><A-b.c_d>v</A-b.c_d></xml>",
	"<xml><1A>v</1A></xml>",
	"<xml><Ä>v</Ä></xml>",
	"<xml><A >v</A ></xml>",
	"<xml><A/><B /><C/ ></xml>",
	"<xml><A>v</a></xml>",
	"<xml><!-- c --><A>v</A></xml>",
	"<?xml version=\"1.0\"?><xml><A>v</A></xml>",
	"\ufeff<xml><A>v</A></xml>",
	"  \n<xml><A>v</A></xml>\n\t ",
	"<xml><A>v</A></xml>x",
	"<xml><A>v</A></xml><xml/>",
	"x<xml/>",
	"<xml><A>\x00</A></xml>",
	"<xml><A>\xff</A></xml>",
	"<xml><A>\uffff</A></xml>",
	"<xml><A>" + strings.Repeat("<B>", 70) + strings.Repeat("</B>", 70) + "</A></xml>",
	"<xml><A>v</A>",
	"<xml><A><![CDATA[v]]</A></xml>",
	"<xml/>",
	"<notxml><MsgType>text</MsgType></notxml>",
	"<xml><MsgType>event</MsgType><Event>e</Event><A>x\\y\nB=y</A><P><Q>1</Q></P><P>t<Q>2</Q></P></xml>",
	// "</" and "<![CDATA[" inside CDATA: scanTree's room for the nodes
	// falls short, and its slice must grow.
	"<xml><A><![CDATA[</B></C><![CDATA[]]></A><D>1</D><E>2</E><F/></xml>",
}

// weComShapes is what WeCom sends that the fast path must read: every
// official sample, and the vectors' plaintexts and envelope, less those
// with carriage returns (the slow path's).
func weComShapes() []string {
	all := []string{v1bMsg, d1Msg, v1bBody}
	for _, s := range officialSamples {
		all = append(all, s.xml)
	}
	var in []string
	for _, s := range all {
		if !strings.Contains(s, "\r") {
			in = append(in, s)
		}
	}
	return in
}

// TestScanTreeReadsWeComShapes checks that the fast path, not the
// encoding/xml fallback, reads what WeCom sends. (handlers' tests send
// wecomtest's generated callbacks through it.)
func TestScanTreeReadsWeComShapes(t *testing.T) {
	for _, s := range weComShapes() {
		fast := scanTree(string(trimBOM([]byte(s))))
		if fast == nil {
			t.Errorf("scanTree left to encoding/xml:\n%s", s)
			continue
		}
		ref, err := refParseXMLTree([]byte(s))
		if err != nil || !sameTree(fast, ref) {
			t.Errorf("scanTree and encoding/xml differ (%v):\n%s", err, s)
		}
	}
}

// TestScanTreeSizesItsNodesOnce checks that the fast path makes room for
// exactly the elements of what WeCom sends, in one allocation: no slot to
// spare (a slot per '<' was twice what the elements need), none missing
// (append would copy them all).
func TestScanTreeSizesItsNodesOnce(t *testing.T) {
	for _, s := range weComShapes() {
		sc := scanner{s: string(trimBOM([]byte(s)))}
		if !sc.scan() {
			t.Errorf("scanTree left to encoding/xml:\n%s", s)
			continue
		}
		if len(sc.nodes) != cap(sc.nodes) {
			t.Errorf("%d elements in room for %d:\n%s", len(sc.nodes), cap(sc.nodes), s)
		}
	}
}

func TestScanTreeTricky(t *testing.T) {
	for _, s := range trickyXML {
		checkTree(t, []byte(s))
	}
}

// checkTree fails if scanTree returns a tree encoding/xml does not, or if
// parseXMLTree and the reference differ in tree or error.
func checkTree(t *testing.T, data []byte) {
	t.Helper()
	ref, refErr := refParseXMLTree(data)
	if fast := scanTree(string(data)); fast != nil {
		if refErr != nil {
			t.Fatalf("scanTree accepted what encoding/xml rejects (%v): %q", refErr, data)
		}
		if !sameTree(fast, ref) {
			t.Fatalf("scanTree and encoding/xml differ: %q", data)
		}
	}
	got, err := parseXMLTree(data)
	if (err == nil) != (refErr == nil) || err != nil && err.Error() != refErr.Error() || err == nil && !sameTree(got, ref) {
		t.Fatalf("parseXMLTree %v, reference %v: %q", err, refErr, data)
	}
}

// FuzzTreeDifferential compares the tree of scanTree (and of
// parseXMLTree, its fast path with the fallback) with the encoding/xml
// reference.
func FuzzTreeDifferential(f *testing.F) {
	for _, s := range officialSamples {
		f.Add([]byte(s.xml))
	}
	for _, s := range append(trickyXML, v1bMsg, d1Msg, v1bBody, "") {
		f.Add([]byte(s))
	}
	f.Fuzz(checkTree)
}

// FuzzDecodeDifferential compares Decode with the encoding/xml-only
// decoder it replaced: the same event (dedup key included) or the same
// error.
func FuzzDecodeDifferential(f *testing.F) {
	for _, s := range officialSamples {
		f.Add([]byte(s.xml))
	}
	for _, s := range append(trickyXML, v1bMsg, v1cMsg, d1Msg, "\ufeff"+d1Msg, "") {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := Decode(data)
		ref, refErr := refDecode(data)
		if (err == nil) != (refErr == nil) || err != nil && err.Error() != refErr.Error() {
			t.Fatalf("Decode error %v, reference %v", err, refErr)
		}
		if !reflect.DeepEqual(ev, ref) {
			t.Fatalf("Decode %#v\nreference %#v", ev, ref)
		}
	})
}

// FuzzParseEnvelopeDifferential compares ParseEnvelope with the
// encoding/xml Unmarshal it replaced.
func FuzzParseEnvelopeDifferential(f *testing.F) {
	for _, s := range append(trickyXML, v1bBody, v1cBody, "\ufeff"+v1bBody,
		"<xml><ToUserName> ww1 </ToUserName><AgentID>\n218\n</AgentID><Encrypt>\n abc= \n</Encrypt></xml>",
		"<xml><Encrypt>abc=</Encrypt><Encrypt>def=</Encrypt></xml>",
		"<xml><Foo><Encrypt>x</Encrypt></Foo><Encrypt>a<B>c</B>b</Encrypt></xml>",
		"<xml><Encrypt><![CDATA[]]></Encrypt></xml>",
		"<envelope><Encrypt>abc=</Encrypt></envelope>",
		"hello<xml><Encrypt>abc=</Encrypt></xml>",
		"") {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := ParseEnvelope(body)
		ref, refErr := refParseEnvelope(body)
		if (err == nil) != (refErr == nil) || err != nil && err.Error() != refErr.Error() || e != ref {
			t.Fatalf("ParseEnvelope %+v, %v; reference %+v, %v", e, err, ref, refErr)
		}
	})
}
