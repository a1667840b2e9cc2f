//go:build !linux

package lab

import (
	"errors"
	"testing"
)

// Off Linux no lab is built and nothing is found.
func TestNotLinux(t *testing.T) {
	if _, err := Up(Config{}); !errors.Is(err, ErrNotLinux) {
		t.Errorf("Up: %v", err)
	}
	if _, err := Open("lab", false); !errors.Is(err, ErrNotLinux) {
		t.Errorf("Open: %v", err)
	}
	if names, err := DownAll(""); len(names) != 0 || err != nil {
		t.Errorf("DownAll: %v %v", names, err)
	}
}
