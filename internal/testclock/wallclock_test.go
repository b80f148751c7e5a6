package testclock

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// calendarMethods are the time.Time methods that read a date, an hour
// or a zone.
var calendarMethods = []string{"In", "Local", "AddDate", "Date", "Year", "Month", "Day", "YearDay",
	"Weekday", "ISOWeek", "Clock", "Hour", "Minute", "Format", "AppendFormat"}

// TestNoCalendarFromTheWallClock: no test reads a date, an hour or a zone
// off the wall clock (time.Now().In(…), time.Now().Weekday(), …): a test
// that reasons about days and hours takes "now" from a Clock, so that it
// passes on every day and at every hour (the root package's clock matrix
// runs the time-dependent tests at 28 of them).
func TestNoCalendarFromTheWallClock(t *testing.T) {
	root := moduleRoot(t)
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(fset, path, src, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok || !slices.Contains(calendarMethods, sel.Sel.Name) || !isTimeNow(sel.X) {
				return true
			}
			rel, _ := filepath.Rel(root, path)
			t.Errorf("%s:%d: time.Now().%s(…) reads the calendar off the wall clock; take now from a testclock.Clock",
				rel, fset.Position(sel.Pos()).Line, sel.Sel.Name)
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// isTimeNow reports whether e is the call time.Now().
func isTimeNow(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok || len(call.Args) != 0 {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Now" {
		return false
	}
	id, ok := sel.X.(*ast.Ident)
	return ok && id.Name == "time"
}
