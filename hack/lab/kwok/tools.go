//go:build tools

// Package tools pins the command this wrapper module builds (sigs.k8s.io/kwok/cmd/kwok).
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
