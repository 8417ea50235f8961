package carbonscore

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	fwk "k8s.io/kube-scheduler/framework"
)

// Name is the plugin's name in a KubeSchedulerConfiguration profile.
const Name = "CarbonKubeEmissions"

const stateKey fwk.StateKey = Name

// Plugin scores nodes by the pod's expected emissions (see package doc). PreScore computes
// every candidate's emission once per cycle; Score only looks it up, and NormalizeScore maps
// the set onto 0..MaxScore, because the mapping needs the lowest and highest of all nodes.
//
// It signs pods (SignPlugin): a profile where any score plugin cannot sign loses the
// scheduler's opportunistic batching (KEP-5598, on by default since 1.35), which reuses one
// pod's scoring for the next identical pod.
type Plugin struct{}

var (
	_ fwk.PreScorePlugin  = (*Plugin)(nil)
	_ fwk.ScorePlugin     = (*Plugin)(nil)
	_ fwk.ScoreExtensions = (*Plugin)(nil)
	_ fwk.SignPlugin      = (*Plugin)(nil)
)

// SizeSignerName keys the plugin's signature fragment: scores depend on the nodes (their
// labels are node state) and on the pod only through its size as PodSize counts it.
const SizeSignerName = "carbon-kube.io/PodSize()"

// New is the plugin factory; the plugin has no arguments.
func New(_ context.Context, _ runtime.Object, _ fwk.Handle) (fwk.Plugin, error) {
	return &Plugin{}, nil
}

// Name implements fwk.Plugin.
func (*Plugin) Name() string { return Name }

// nodeEmissions is the per-cycle state: emission per node name, absent for nodes without data.
type nodeEmissions map[string]float64

// Clone implements fwk.StateData; the map is never written after PreScore.
func (e nodeEmissions) Clone() fwk.StateData { return e }

// SignPod implements fwk.SignPlugin: two pods of the same size score every node alike.
func (*Plugin) SignPod(_ context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	cpus, memoryGiB := PodSize(pod)
	return []fwk.SignFragment{{Key: SizeSignerName, Value: [2]float64{cpus, memoryGiB}}}, nil
}

// PreScore implements fwk.PreScorePlugin.
func (*Plugin) PreScore(_ context.Context, state fwk.CycleState, pod *v1.Pod, nodes []fwk.NodeInfo) *fwk.Status {
	cpus, memoryGiB := PodSize(pod)
	emissions := make(nodeEmissions, len(nodes))
	for _, info := range nodes {
		node := info.Node()
		if node == nil {
			continue
		}
		if grams, ok := Emission(node.Labels, cpus, memoryGiB); ok {
			emissions[node.Name] = grams
		}
	}
	state.Write(stateKey, emissions)
	return nil
}

// Score implements fwk.ScorePlugin. The raw score is a placeholder: emissions are floats
// and their mapping needs every node, so NormalizeScore assigns the real score.
func (*Plugin) Score(_ context.Context, _ fwk.CycleState, _ *v1.Pod, _ fwk.NodeInfo) (int64, *fwk.Status) {
	return 0, nil
}

// ScoreExtensions implements fwk.ScorePlugin.
func (p *Plugin) ScoreExtensions() fwk.ScoreExtensions { return p }

// NormalizeScore implements fwk.ScoreExtensions.
func (*Plugin) NormalizeScore(_ context.Context, state fwk.CycleState, _ *v1.Pod, scores fwk.NodeScoreList) *fwk.Status {
	data, err := state.Read(stateKey)
	if err != nil {
		return fwk.AsStatus(fmt.Errorf("reading %s state: %w", Name, err))
	}
	byNode, ok := data.(nodeEmissions)
	if !ok {
		return fwk.AsStatus(fmt.Errorf("%s state has type %T", Name, data))
	}
	emissions := make([]float64, len(scores))
	known := make([]bool, len(scores))
	for i := range scores {
		emissions[i], known[i] = byNode[scores[i].Name]
	}
	for i, score := range Scores(emissions, known, fwk.MaxScore) {
		scores[i].Score = score
	}
	return nil
}
