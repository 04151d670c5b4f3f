// Package common is the plumbing the Go interop clients (sluice_sarama, sluice_kafkago,
// sluice_optiopay, sluice_confluentgo) share: one command as the first argument, a JSON request
// on stdin, one JSON answer on stdout ({"error": ...} and exit 1 on failure). Built offline in
// GOPATH mode by tests/interop/go.ts (GOPATH holds tests/interop/clients/go), imported as
// "sluice_common".
package common

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Fail writes {"error": err} and exits 1.
func Fail(err error) {
	out, _ := json.Marshal(map[string]string{"error": err.Error()})
	fmt.Println(string(out))
	os.Exit(1)
}

// Answer writes v as one line of JSON.
func Answer(v interface{}) {
	out, err := json.Marshal(v)
	if err != nil {
		Fail(err)
	}
	fmt.Println(string(out))
}

// Str is b as a string, nil for nil.
func Str(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
}

// Bytes is s as bytes, nil for nil.
func Bytes(s *string) []byte {
	if s == nil {
		return nil
	}
	return []byte(*s)
}

// Main decodes the JSON request on stdin into req, then runs the command os.Args[1] names;
// a missing or unknown command fails.
func Main(program string, req interface{}, commands map[string]func()) {
	if len(os.Args) != 2 {
		names := make([]string, 0, len(commands))
		for name := range commands {
			names = append(names, name)
		}
		sort.Strings(names)
		Fail(fmt.Errorf("usage: %s %s < request.json", program, strings.Join(names, "|")))
	}
	if err := json.NewDecoder(os.Stdin).Decode(req); err != nil {
		Fail(fmt.Errorf("bad request: %v", err))
	}
	run, ok := commands[os.Args[1]]
	if !ok {
		Fail(fmt.Errorf("unknown command %q", os.Args[1]))
	}
	run()
}
