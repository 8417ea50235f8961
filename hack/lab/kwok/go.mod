// Wrapper module: builds kwok from sigs.k8s.io/kwok/cmd/kwok on its own, so its dependency versions never mix
// with k8s.io/kubernetes's or the other lab tools'. ../build.sh rewrites the require line
// when a different version is asked for.
module carbon-kube.dev/hack/lab/kwok

go 1.26.0

require sigs.k8s.io/kwok v0.8.0
