package main

import (
	"fmt"
	"io"

	"github.com/wecomply/wecomply/policy/rules"
)

// rulesCmd is `wecomply rules test FILE`: it parses a supervision rule
// file and runs every rule's samples against that rule. Exit status 1
// names each failing sample; 2 is a file that cannot be read or does not
// parse, with the line at fault.
func rulesCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "test" {
		return fmt.Errorf("%w: rules takes the subcommand test", errUsage)
	}
	fs := newFlagSet("rules test", stderr)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: rules test takes one FILE", errUsage)
	}
	file := fs.Arg(0)
	set, err := rules.Load(file)
	if problems := rules.ParseProblems(err); problems != nil {
		for _, p := range problems {
			fmt.Fprintf(stdout, "%s: %s\n", file, p)
		}
		return &exitError{code: 2, err: fmt.Errorf("%s does not parse: %d problem(s)", file, len(problems))}
	}
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	failures, err := set.CheckSamples()
	if err != nil {
		return err
	}
	samples := 0
	for _, r := range set.Rules() {
		samples += len(r.Match) + len(r.NoMatch)
	}
	for _, f := range failures {
		fmt.Fprintf(stdout, "FAIL %s: %s\n", file, f)
	}
	if len(failures) > 0 {
		return fmt.Errorf("%s: %d of %d sample(s) failed", file, len(failures), samples)
	}
	fmt.Fprintf(stdout, "ok %s: %d rule(s), %d sample(s), version %s\n", file, len(set.Rules()), samples, set.Version())
	return nil
}
