package fill

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The kill test runs a fill in a child process (this test binary, started
// with childEnv set), lets it write the edited sheet into the temporary
// file, then SIGKILLs it before the rename.
const childEnv = "XLBATCH_FILL_KILL_CHILD"

func runChildFill() {
	in, out := os.Getenv("FILL_IN"), os.Getenv("FILL_OUT")
	reg := newTestRegistry(nil)
	_, err := Fill(context.Background(), reg.Registry, in, out, Options{afterPart: func(name string) {
		if name == "xl/worksheets/sheet1.xml" {
			fmt.Println("sheet written")
			time.Sleep(time.Minute) // killed here
		}
	}})
	fmt.Println("finished", err)
	os.Exit(0)
}

func TestKillMidWriteLeavesNoOutput(t *testing.T) {
	for _, inPlace := range []bool{false, true} {
		t.Run(fmt.Sprintf("inPlace=%v", inPlace), func(t *testing.T) {
			in := writeAcceptanceBook(t)
			before, _ := os.ReadFile(in)
			out := filepath.Join(filepath.Dir(in), "out.xlsm")
			if inPlace {
				out = in
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"=1", "FILL_IN="+in, "FILL_OUT="+out)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil || !strings.HasPrefix(line, "sheet written") {
				cmd.Process.Kill()
				cmd.Wait()
				t.Fatalf("child said %q, %v", line, err)
			}
			// The edited sheet is in the temporary file now; kill before the rename.
			tmps, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".out.xlsm.tmp-*"))
			if !inPlace && len(tmps) != 1 {
				t.Errorf("expected one temporary file while writing, found %v", tmps)
			}
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			if !inPlace {
				if _, err := os.Stat(out); !os.IsNotExist(err) {
					t.Errorf("output exists after the kill: %v", err)
				}
			}
			after, _ := os.ReadFile(in)
			if !bytes.Equal(before, after) {
				t.Error("the input changed")
			}
		})
	}
}
