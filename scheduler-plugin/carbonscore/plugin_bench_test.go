package carbonscore

import (
	"context"
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

// One scheduling cycle's work for the plugin (PreScore, Score per node, NormalizeScore) on the
// 230 nodes kube-scheduler scores in the lab's 500-node cluster (adaptive
// percentageOfNodesToScore, 46 %): what the plugin adds to a cycle, without the scheduler.
// Run: hack/lab/build.sh bench-scheduler-plugin.
func BenchmarkCycle230Nodes(b *testing.B) {
	ctx := context.Background()
	p := &Plugin{}
	pod := &v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{{
		Resources: v1.ResourceRequirements{Requests: v1.ResourceList{
			v1.ResourceCPU: resource.MustParse("10m"), v1.ResourceMemory: resource.MustParse("16Mi"),
		}},
	}}}}
	nodes := make([]fwk.NodeInfo, 230)
	intensities := []string{"312", "380", "56", "402"}
	for i := range nodes {
		nodes[i] = node(fmt.Sprintf("node-%d", i), powered(intensities[i%len(intensities)]))
	}
	scores := make(fwk.NodeScoreList, len(nodes))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		state := framework.NewCycleState()
		if status := p.PreScore(ctx, state, pod, nodes); !status.IsSuccess() {
			b.Fatal(status)
		}
		for i, n := range nodes {
			raw, _ := p.Score(ctx, state, pod, n)
			scores[i] = fwk.NodeScore{Name: n.Node().Name, Score: raw}
		}
		if status := p.NormalizeScore(ctx, state, pod, scores); !status.IsSuccess() {
			b.Fatal(status)
		}
	}
}
