package worker

import (
	"context"

	"github.com/wecomply/wecomply/store"
	"github.com/wecomply/wecomply/wecom"
)

// EventLogger is the processor of the ingress issue: it records each event
// in the event log (kind, dedup key, identifying fields, CreateTime,
// receipt time, receiver) and nothing else. Appending is idempotent on the
// dedup key, so an event processed twice is logged once.
type EventLogger struct {
	Log store.EventLog
}

// Process appends ev to the event log.
func (l EventLogger) Process(ctx context.Context, d store.Delivery, ev wecom.Event) error {
	return l.Log.AppendEventLog(ctx, Entry(d, ev))
}

// Entry is the event-log entry for a delivered event.
func Entry(d store.Delivery, ev wecom.Event) store.LogEntry {
	return store.LogEntry{
		Kind:       ev.Kind(),
		DedupKey:   d.DedupKey,
		CreateTime: ev.Head().CreateTime,
		ReceivedAt: d.ReceivedAt,
		Receiver:   d.Receiver,
		Fields:     ev.Fields(),
	}
}
