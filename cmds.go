package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wecomply/wecomply/config"
	"github.com/wecomply/wecomply/wecom"
	"github.com/wecomply/wecomply/wecom/wecomtest"
)

// checkCmd validates a config file and prints every problem.
func checkCmd(args []string, stdout, stderr io.Writer, environ []string) error {
	fs := newFlagSet("check", stderr)
	path := fs.String("config", "", "config file to check")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" || fs.NArg() > 0 {
		return fmt.Errorf("%w: check takes -config FILE", errUsage)
	}
	cfg, err := config.Load(*path, environ)
	var cerr *config.Error
	if errors.As(err, &cerr) {
		fmt.Fprintf(stdout, "%s: %d problem(s)\n", *path, len(cerr.Problems))
		for _, p := range cerr.Problems {
			fmt.Fprintf(stdout, "  %s\n", p)
		}
		return fmt.Errorf("%s is not valid", *path)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%d callback receiver(s), %s store, %d worker(s), listening on %s)\n",
		*path, len(cfg.WeCom.Callbacks), cfg.Store.Backend, cfg.Workers.Count, cfg.Server.Listen)
	return nil
}

// keygenCmd prints a fresh Token and EncodingAESKey from crypto/rand.
func keygenCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("keygen", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: keygen takes no arguments", errUsage)
	}
	token, key, err := wecom.GenerateKeys(rand.Reader)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, `Paste these into the WeCom admin console (the receiver's "Receive Messages" / API settings)
and into your config's [[wecom.callback]] (or WECOMPLY_WECOM_CALLBACK_<i>_TOKEN / _ENCODING_AES_KEY):

Token:          %s
EncodingAESKey: %s

token = %q
encoding_aes_key = %q
`, token, key, token, key)
	return nil
}

// simulateCmd signs, encrypts and POSTs a sample event to a running server
// exactly as WeCom would.
func simulateCmd(ctx context.Context, args []string, stdout, stderr io.Writer, environ []string) error {
	fs := newFlagSet("simulate", stderr)
	path := fs.String("config", "", "config file of the server to send to (for its token, key and address)")
	target := fs.String("url", "", "base URL of the server (default: http://<server.listen>)")
	receiver := fs.String("receiver", "", "callback path to send to (default: the first [[wecom.callback]])")
	show := fs.Bool("print", false, "also print the plaintext event sent")
	var spec wecomtest.EventSpec
	for _, f := range []struct {
		p          *string
		name, help string
	}{
		{&spec.UserID, "user", "member UserID (FromUserName for messages and app events; UserID for change events)"},
		{&spec.NewUserID, "new-user", "NewUserID (update_user)"},
		{&spec.ExternalUserID, "external-user", "ExternalUserID (change_external_contact)"},
		{&spec.ChatID, "chat", "ChatId (change_external_chat)"},
		{&spec.Content, "content", "message text (text)"},
		{&spec.MsgID, "msg-id", "MsgId (messages; random by default)"},
		{&spec.EventKey, "event-key", "EventKey (menu events, template_card_event)"},
		{&spec.TaskID, "task-id", "TaskId (template_card_event)"},
		{&spec.CardType, "card-type", "CardType (template_card_event)"},
		{&spec.ResponseCode, "response-code", "ResponseCode (template_card_event; random by default)"},
		{&spec.State, "state", "State (add_external_contact)"},
		{&spec.WelcomeCode, "welcome-code", "WelcomeCode (add_external_contact; random by default)"},
		{&spec.Source, "source", "Source (del_external_contact)"},
		{&spec.FailReason, "fail-reason", "FailReason (transfer_fail)"},
		{&spec.UpdateDetail, "update-detail", "UpdateDetail (change_external_chat.update)"},
		{&spec.TagID, "tag", "TagId (update_tag, change_external_tag)"},
		{&spec.PartyID, "party", "department Id (party events)"},
		{&spec.Name, "name", "Name (user and party events)"},
		{&spec.Department, "department", "Department, comma-separated ids (user events)"},
		{&spec.AgentID, "agent", "AgentID inside the event"},
	} {
		fs.StringVar(f.p, f.name, "", f.help)
	}
	createTime := fs.Int64("create-time", 0, "CreateTime, Unix seconds (default now)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: wecomply simulate -config FILE [-url URL] [-receiver PATH] EVENT [flags]\n\nEVENT is one of:\n  %s\n\nFlags:\n",
			strings.Join(wecomtest.Kinds(), "\n  "))
		fs.PrintDefaults()
	}
	// Flags may come before and after EVENT.
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return fmt.Errorf("%w: simulate needs an EVENT", errUsage)
	}
	spec.Kind = fs.Arg(0)
	if err := parseFlags(fs, fs.Args()[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q after the event flags", errUsage, fs.Arg(0))
	}
	if *path == "" {
		return fmt.Errorf("%w: simulate needs -config FILE", errUsage)
	}
	spec.CreateTime = *createTime

	cfg, err := config.Load(*path, environ)
	if err != nil {
		return err
	}
	cb := cfg.WeCom.Callbacks[0]
	if *receiver != "" {
		found := false
		for _, c := range cfg.WeCom.Callbacks {
			if c.Path == *receiver {
				cb, found = c, true
			}
		}
		if !found {
			return fmt.Errorf("%w: no [[wecom.callback]] has path %q", errUsage, *receiver)
		}
	}
	base := *target
	if base == "" {
		base = "http://" + dialable(cfg.Server.Listen)
	}
	spec.CorpID = cfg.WeCom.CorpID
	if spec.AgentID == "" && cfg.WeCom.AgentID > 0 {
		spec.AgentID = strconv.FormatInt(cfg.WeCom.AgentID, 10)
	}
	plain, err := wecomtest.BuildEvent(spec)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cipher, err := wecom.NewCipher(cb.Token.Reveal(), cb.EncodingAESKey.Reveal(), cb.ReceiveID)
	if err != nil {
		return err
	}
	s := &wecomtest.Sender{URL: strings.TrimRight(base, "/") + cb.Path, Cipher: cipher, AgentID: spec.AgentID}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if *show {
		fmt.Fprintf(stdout, "%s\n", plain)
	}
	status, body, err := s.Post(ctx, plain)
	if err != nil {
		return fmt.Errorf("post %s to %s: %w", spec.Kind, s.URL, err)
	}
	fmt.Fprintf(stdout, "POST %s %s → %d %s\n", s.URL, spec.Kind, status, http.StatusText(status))
	switch status {
	case http.StatusOK:
		fmt.Fprintln(stdout, "accepted: the server stored the event (see GET /api/v1/events)")
		return nil
	case http.StatusForbidden:
		return fmt.Errorf("refused (%s): does the server use this config's token, key and corp_id, and is its clock right?", strings.TrimSpace(string(body)))
	default:
		return fmt.Errorf("server answered %d: %s", status, strings.TrimSpace(string(body)))
	}
}

// dialable turns a listen address into one a client can dial: an
// unspecified host becomes loopback.
func dialable(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
