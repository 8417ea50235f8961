// Wrapper module: builds helm from helm.sh/helm/v3/cmd/helm on its own, so its dependency versions never mix
// with k8s.io/kubernetes's or the other lab tools'. ../build.sh rewrites the require line
// when a different version is asked for.
module carbon-kube.dev/hack/lab/helm

go 1.26.0

require helm.sh/helm/v3 v3.21.4
