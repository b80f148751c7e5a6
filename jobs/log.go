package jobs

import (
	"log/slog"
)

// cronLogger adapts slog to cron.Logger. The cron's routine messages
// (start, wake, schedule, run) go to Debug; an activation skipped because
// the previous one still runs goes to Info; errors (a panic Recover
// caught) go to Error.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, keysAndValues ...any) {
	if msg == "skip" {
		l.log.Info("cron: activation skipped: the previous one still runs", keysAndValues...)
		return
	}
	l.log.Debug("cron: "+msg, keysAndValues...)
}

func (l cronLogger) Error(err error, msg string, keysAndValues ...any) {
	l.log.Error("cron: "+msg, append([]any{"err", err}, keysAndValues...)...)
}
