package session_test

import (
	"os"
	"testing"

	"github.com/rawcraft/rawcraft/internal/lab"
)

// TestMain removes the labs of killed test runs first and fails the run if
// a namespace of this process is left behind.
func TestMain(m *testing.M) { os.Exit(lab.RunTests(m)) }
