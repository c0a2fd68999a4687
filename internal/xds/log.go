package xds

import (
	"context"
	"fmt"
	"log/slog"
)

// cpLogger sends go-control-plane's logs to slog. Its info and warning
// lines describe the normal ADS flow ("open watch", "not responding to
// request ... not listed") and go to debug; its errors are warnings here,
// since the server recovers from all of them.
type cpLogger struct{ l *slog.Logger }

func (c cpLogger) log(level slog.Level, format string, args ...any) {
	if !c.l.Enabled(context.Background(), level) {
		return
	}
	c.l.Log(context.Background(), level, "go-control-plane: "+fmt.Sprintf(format, args...))
}

func (c cpLogger) Debugf(format string, args ...any) { c.log(slog.LevelDebug, format, args...) }
func (c cpLogger) Infof(format string, args ...any)  { c.log(slog.LevelDebug, format, args...) }
func (c cpLogger) Warnf(format string, args ...any)  { c.log(slog.LevelDebug, format, args...) }
func (c cpLogger) Errorf(format string, args ...any) { c.log(slog.LevelWarn, format, args...) }
