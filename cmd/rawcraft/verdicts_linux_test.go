package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A FIFO that nobody writes to, or that a writer keeps open without
// writing, is refused within about a second instead of hanging build.
func TestBadDataFileFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, errOut, code := runCLI(t, "build", "udp", "--data-file", fifo)
	if el := time.Since(start); code != 2 || el > 3*time.Second || !strings.Contains(errOut, "FIFO") {
		t.Errorf("no writer: exit %d after %v: %q", code, el, errOut)
	}
	// A writer that holds the FIFO open and never writes.
	fd, err := syscall.Open(fifo, syscall.O_RDWR|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	start = time.Now()
	_, errOut, code = runCLI(t, "build", "udp", "--data-file", fifo)
	if el := time.Since(start); code != 2 || el > 3*time.Second || !strings.Contains(errOut, "no end after") {
		t.Errorf("silent writer: exit %d after %v: %q", code, el, errOut)
	}
}
