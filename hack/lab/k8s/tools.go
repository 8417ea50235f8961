//go:build tools

// Package tools pins the k8s.io/kubernetes commands this wrapper module builds.
// The wrapper exists because k8s.io/kubernetes replaces its staging modules with
// local paths that a consumer does not inherit; go.mod re-points each staging
// module at its published v0.X.Y tag instead (see ../build.sh).
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
