package abi

import (
	"errors"
	"fmt"
	"strings"
)

// CheckID checks a plugin id (Manifest.ID): dotted words, at least two,
// each starting with a lowercase letter and made of lowercase letters,
// digits, '-' and '_', such as objects.temperature. The host gives each
// plugin the key-value namespace of its id, so that the rule also keeps
// plugins out of the host's own namespaces ("#security", "#bootstrap").
func CheckID(id string) error {
	if id == "" {
		return errors.New("manifest: no id")
	}
	words := strings.Split(id, ".")
	if len(words) < 2 {
		return fmt.Errorf("manifest %q: want a dotted id such as objects.temperature", id)
	}
	for _, w := range words {
		if w == "" || w[0] < 'a' || w[0] > 'z' {
			return fmt.Errorf("manifest %q: each dotted word starts with a lowercase letter", id)
		}
		for i := 0; i < len(w); i++ {
			c := w[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("manifest %q: %q is not allowed in an id", id, c)
			}
		}
	}
	return nil
}
