package carbonscore

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
)

func node(name string, labels map[string]string) fwk.NodeInfo {
	info := framework.NewNodeInfo()
	info.SetNode(&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}})
	return info
}

func powered(intensity string) map[string]string {
	return map[string]string{IntensityLabel: intensity, WattsPerVCPULabel: "1.2258", WattsPerGiBLabel: "0.44492"}
}

// Through the framework's calls (PreScore, Score, NormalizeScore) the lowest-emission node
// gets MaxScore, the highest 0, and a node without labels the neutral 50.
func TestPluginScoresThroughTheFrameworkExtensionPoints(t *testing.T) {
	ctx := context.Background()
	plugin, err := New(ctx, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := plugin.(*Plugin)
	pod := &v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{{
		Name:      "c",
		Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse("2")}},
	}}}}
	nodes := []fwk.NodeInfo{node("fr", powered("56")), node("bare", nil), node("de", powered("380")), node("ie", powered("218"))}
	state := framework.NewCycleState()

	if status := p.PreScore(ctx, state, pod, nodes); !status.IsSuccess() {
		t.Fatalf("PreScore: %v", status)
	}
	scores := make(fwk.NodeScoreList, len(nodes))
	for i, n := range nodes {
		raw, status := p.Score(ctx, state, pod, n)
		if !status.IsSuccess() {
			t.Fatalf("Score(%s): %v", n.Node().Name, status)
		}
		scores[i] = fwk.NodeScore{Name: n.Node().Name, Score: raw}
	}
	if status := p.ScoreExtensions().NormalizeScore(ctx, state, pod, scores); !status.IsSuccess() {
		t.Fatalf("NormalizeScore: %v", status)
	}

	want := map[string]int64{"fr": 100, "bare": 50, "de": 0, "ie": 50}
	for _, s := range scores {
		if s.Score != want[s.Name] {
			t.Errorf("%s: score %d, want %d", s.Name, s.Score, want[s.Name])
		}
	}
}

func TestNormalizeScoreWithoutPreScoreIsAnError(t *testing.T) {
	p := &Plugin{}
	status := p.NormalizeScore(context.Background(), framework.NewCycleState(), &v1.Pod{}, fwk.NodeScoreList{{Name: "a"}})
	if status.IsSuccess() {
		t.Fatal("NormalizeScore succeeded without PreScore state")
	}
}

// Pods of equal size share a signature (the scheduler may reuse scores); sizes differ, so do
// signatures.
func TestPodsOfTheSameSizeSignAlike(t *testing.T) {
	p := &Plugin{}
	sign := func(cpu string) any {
		pod := &v1.Pod{Spec: v1.PodSpec{Containers: []v1.Container{{
			Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}},
		}}}}
		fragments, status := p.SignPod(context.Background(), pod)
		if !status.IsSuccess() || len(fragments) != 1 || fragments[0].Key != SizeSignerName {
			t.Fatalf("SignPod(%s) = %v, %v", cpu, fragments, status)
		}
		return fragments[0].Value
	}
	if sign("500m") != sign("0.5") {
		t.Error("500m and 0.5 CPU sign differently")
	}
	if sign("500m") == sign("1") {
		t.Error("500m and 1 CPU sign alike")
	}
}
