package store

import (
	"encoding/json"
	"fmt"
	"time"
)

// reservedLogKeys are the LogEntry members that identifying fields may not
// shadow in the flattened JSON object.
var reservedLogKeys = map[string]bool{
	"kind": true, "dedup_key": true, "create_time": true, "received_at": true, "receiver": true,
}

// MarshalJSON writes the entry as one flat object: the fixed members
// followed by the identifying fields (a field named like a fixed member is
// written with an "event_" prefix instead of overwriting it).
func (e LogEntry) MarshalJSON() ([]byte, error) {
	m := make(map[string]any, len(e.Fields)+5)
	for k, v := range e.Fields {
		if reservedLogKeys[k] {
			k = "event_" + k
		}
		m[k] = v
	}
	m["kind"] = e.Kind
	m["dedup_key"] = e.DedupKey
	m["create_time"] = e.CreateTime
	m["received_at"] = e.ReceivedAt.UTC().Format(time.RFC3339Nano)
	m["receiver"] = e.Receiver
	return json.Marshal(m)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (e *LogEntry) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	var out LogEntry
	for k, raw := range m {
		var err error
		switch k {
		case "kind":
			err = json.Unmarshal(raw, &out.Kind)
		case "dedup_key":
			err = json.Unmarshal(raw, &out.DedupKey)
		case "create_time":
			err = json.Unmarshal(raw, &out.CreateTime)
		case "received_at":
			err = json.Unmarshal(raw, &out.ReceivedAt)
		case "receiver":
			err = json.Unmarshal(raw, &out.Receiver)
		default:
			var s string
			if err = json.Unmarshal(raw, &s); err == nil {
				if out.Fields == nil {
					out.Fields = make(map[string]string)
				}
				out.Fields[k] = s
			}
		}
		if err != nil {
			return fmt.Errorf("log entry member %q: %w", k, err)
		}
	}
	*e = out
	return nil
}
