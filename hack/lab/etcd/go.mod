// Wrapper module: builds etcd from go.etcd.io/etcd/server/v3 on its own, so its dependency versions never mix
// with k8s.io/kubernetes's or the other lab tools'. ../build.sh rewrites the require line
// when a different version is asked for.
module carbon-kube.dev/hack/lab/etcd

go 1.26.0

require go.etcd.io/etcd/server/v3 v3.6.16
